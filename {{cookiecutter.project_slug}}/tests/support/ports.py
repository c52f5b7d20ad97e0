"""Free TCP ports on 127.0.0.1, for the servers the tests start (uvicorn, and PgBouncer where the
database has it)."""

import socket


def free_port() -> int:
    """A port that nothing listens on now. Another process may take it before the caller binds
    it; a caller that can tries another."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
