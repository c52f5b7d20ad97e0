"""What aiomysql knows about a pooled connection without asking the server."""

from typing import Any


def closed_by_server(driver_connection: Any) -> bool:
    """The server closed the connection (restart, KILL, wait_timeout): the event loop has
    already read the end of the stream into the connection's reader. aiomysql has no public
    flag for this; `_reader` is its asyncio.StreamReader."""
    reader = driver_connection._reader
    return reader is None or bool(reader._eof)
