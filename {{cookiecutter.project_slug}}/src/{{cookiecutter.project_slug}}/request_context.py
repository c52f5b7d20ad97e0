"""What is known of the request being served, wherever the code runs while it is served.

`middleware.py` sets the request id and `auth/dependencies.py` the caller; the log formatter
(`logs.py`) writes both on every line, and the handler of unexpected errors (`errors.py`)
answers with the request id.
"""

from contextvars import ContextVar

# The id of the request being served; left set when the app raises, so that the 500 answered
# outside every middleware still carries it.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Who is calling, once the request's token is verified (auth/dependencies.py): the token's
# `sub` and its client's id. None before, and on the public routes.
caller_var: ContextVar[tuple[str, str | None] | None] = ContextVar("caller", default=None)
