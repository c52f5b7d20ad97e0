"""What asyncpg knows about a pooled connection without asking the server."""

from typing import Any


def closed_by_server(driver_connection: Any) -> bool:
    """The server closed the connection (restart, pg_terminate_backend, idle timeout): the event
    loop has already read the end of the stream, and asyncpg has marked the connection closed."""
    return bool(driver_connection.is_closed())
