"""What psycopg's socket tells about a pooled connection without asking the server, how it
talks through a transaction pooler, and how it sends settings when it connects."""

import select
from typing import Any

# Behind a transaction pooler (PgBouncer) each transaction may run on another server connection.
# psycopg prepares a query on the server after it ran 5 times on a connection (_pg3_N), which
# another transaction then finds missing or already there; prepare_threshold=None never prepares
# (psycopg docs, "Server-side binding", PgBouncer).
POOLER_CONNECT_ARGS: dict[str, Any] = {"prepare_threshold": None}


def closed_by_server(driver_connection: Any) -> bool:
    """The server closed the connection (restart, pg_terminate_backend, idle timeout).

    An idle connection has nothing to read; a readable one holds the server's goodbye (a FATAL
    message, the end of the stream) and is never used again.
    """
    if driver_connection.closed:
        return True
    poller = select.poll()
    poller.register(driver_connection.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def add_startup_settings(connect_params: dict[str, Any], settings: dict[str, str]) -> None:
    """Server settings sent with the connection's startup message (libpq's `options`, as
    `-c name=value`): in force from its first statement, for no round trip."""
    options = " ".join(f"-c {name}={value}" for name, value in settings.items())
    connect_params["options"] = f"{connect_params.get('options', '')} {options}".strip()
