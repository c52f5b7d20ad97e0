"""Free TCP ports on 127.0.0.1, for the servers the tests start (uvicorn, and PgBouncer where the
database has it), and the small HTTP servers of the harness (the identity provider's JWKS, the
traces' collector) served from a thread on one."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    """A port that nothing listens on now. Another process may take it before the caller binds
    it; a caller that can tries another."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving_http(handler: type[BaseHTTPRequestHandler], port: int = 0) -> Iterator[int]:
    """`handler` answering HTTP on `port` of 127.0.0.1 (0: a free one), from a thread, for the
    block: the port. Stopped, its requests' threads included, on the way out."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
