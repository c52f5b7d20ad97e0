"""What is known of the request (or the job) being served, wherever the code runs meanwhile.

`middleware.py` sets the request id and `auth/dependencies.py` the caller; a unit of work
outside a request (`database/session.py`'s `job_session`) sets its job's name, and the event
worker (`inbox/worker.py`) the id of the event it handles. The log
formatter (`logs.py`) writes them on every line, and the handler of unexpected errors
(`errors.py`) answers with the request id.
"""

from contextvars import ContextVar

# The id of the request being served; left set when the app raises, so that the 500 answered
# outside every middleware still carries it.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Who is calling, once the request's token is verified (auth/dependencies.py): the token's
# `sub` and its client's id. None before, and on the public routes.
caller_var: ContextVar[tuple[str, str | None] | None] = ContextVar("caller", default=None)

# The name of the job whose unit of work is running outside a request (a command line's
# purge, a scheduled job): its log lines carry it where a request's carry the request id.
job_var: ContextVar[str | None] = ContextVar("job", default=None)

# The id of the event the worker is handling (the AMQP message id): its log lines carry it.
event_var: ContextVar[str | None] = ContextVar("event", default=None)
