"""What is known of the request being served, wherever the code runs while it is served.

`middleware.py` sets the request id; the log formatter (`logs.py`) writes it on every line, and
the handler of unexpected errors (`errors.py`) answers with it.
"""

from contextvars import ContextVar

# The id of the request being served; left set when the app raises, so that the 500 answered
# outside every middleware still carries it.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
