"""Units sold per item, counted from the orders' events by the worker: the example handler of
"Events and jobs" in the README, and the pattern for another one."""
