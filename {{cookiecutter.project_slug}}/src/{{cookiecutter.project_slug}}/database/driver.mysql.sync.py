"""What PyMySQL's socket tells about a pooled connection without asking the server."""

import select
from typing import Any


def closed_by_server(driver_connection: Any) -> bool:
    """The server closed the connection (restart, KILL, wait_timeout).

    An idle connection has nothing to read; a readable one holds the server's goodbye (an
    error packet, the end of the stream) and is never used again. PyMySQL has no public
    accessor for its socket; `_sock` is None once the connection is closed.
    """
    sock = driver_connection._sock
    if sock is None:
        return True
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return bool(poller.poll(0))
