"""uvicorn serving the app, the two ways the tests start it: in a process of its own, as the
Dockerfile starts it (`running_uvicorn`), or in a thread of the test's process, where the test
can still look at the app (`uvicorn_in_thread`)."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from .ports import free_port

PACKAGE = "{{ cookiecutter.project_slug }}"
# Seconds the thread's server may take to start: it imports nothing this process has not.
THREAD_START_TIMEOUT = 10


@dataclass(frozen=True)
class Uvicorn:
    """A uvicorn process: the process, the base URL it serves, and the file it logs to."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def answers(self, path: str, timeout: float = 5.0) -> bool:
        """Whether GET `path` is answered 200; False while nothing listens or nothing answers."""
        try:
            return httpx.get(f"{self.base_url}{path}", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_until(self, ready: Callable[[], bool], timeout: float, pause: float = 0.1) -> None:
        """Return once `ready()` is true; fail, with the log, if the process exits first or
        `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while not ready():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, f"uvicorn did not start: {self.log.read_text()}"
            time.sleep(pause)


@contextmanager
def running_uvicorn(
    *options: str, environment: Mapping[str, str], cwd: Path, log: Path, stop_timeout: float
) -> Iterator[Uvicorn]:
    """`python -m <package> serve` (uvicorn with the service's app, after the start-up checks)
    on a free port of 127.0.0.1, then `options` (uvicorn's);
    this process's environment with `environment` over it; its output in `log`.

    On the way out a process still running gets SIGTERM, as a container's stop sends it, and
    `stop_timeout` seconds to exit; one that does not is killed, and the wait fails.
    """
    port = free_port()
    command = [sys.executable, "-m", PACKAGE, "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, *options],
            cwd=cwd,
            env={**os.environ, **environment},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Uvicorn(process, f"http://127.0.0.1:{port}", log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise


@contextmanager
def uvicorn_in_thread(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn in a thread of this process; its base URL. Stopped on the way
    out, once the requests in flight are answered."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + THREAD_START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
