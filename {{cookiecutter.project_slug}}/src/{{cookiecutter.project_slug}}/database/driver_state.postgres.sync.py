"""What psycopg's socket tells about a pooled connection without asking the server."""

import select
from typing import Any


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
