"""The servers under load: each app's command and environment, its process, its seed data."""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench import BENCH
from bench.baking import compile_bytecode, reference_venv
from bench.identity import Access, in_service
from bench.model import POOL_SIZE, STOCK, STOCK_ITEMS, WORKERS
from bench.reference import defaults
from tests.variants import Variant, clean_environment


class Server:
    def __init__(self, command: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._log_file = log.open("ab")
        self._log_start = log.stat().st_size
        started = time.perf_counter()
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.port = int(command[command.index("--port") + 1])
        self.cold_start = self._wait_healthy(started)

    def _wait_healthy(self, started: float, limit: float = 60.0) -> float:
        url = f"http://127.0.0.1:{self.port}/health"
        while time.perf_counter() - started < limit:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.01)
        raise RuntimeError(f"no 200 from {url} in {limit} s; see {self.log}")

    def processes(self) -> list[int]:
        """The server and its workers: every process of the session it leads."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:  # gone meanwhile
                continue
            if int(fields[3]) == self.process.pid:
                pids.append(int(stat.parent.name))
        return pids

    def rss_mb(self) -> float:
        total = 0
        for pid in self.processes():
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                match = re.search(r"VmRSS:\s+(\d+) kB", status)
                total += int(match.group(1)) if match else 0
        return total / 1024

    def cpu_seconds(self) -> float:
        """User + system time of the server's processes so far."""
        ticks = 0
        for pid in self.processes():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def log_text(self) -> str:
        with self.log.open("rb") as handle:
            handle.seek(self._log_start)
            return handle.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # our own child's group
                self.process.wait()
        self._log_file.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post_json(port: int, path: str, body: Any, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers=headers,
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


@dataclass
class App:
    name: str
    command: list[str]
    cwd: Path
    env: dict[str, str]
    # Emptied before every start (prometheus-client's multiprocess directory).
    fresh_directory: Path | None = None
    # The bearer token every request to it carries (bench/identity.py); None for the raw
    # reference and the floor, which have no access control.
    token: str | None = None

    def start(self, log: Path) -> "Server":
        if self.fresh_directory is not None:
            shutil.rmtree(self.fresh_directory, ignore_errors=True)
            self.fresh_directory.mkdir(parents=True)
        return Server([*self.command, "--port", str(free_port())], self.cwd, self.env, log)


UVICORN_FLAGS = ["--loop", "uvloop", "--http", "httptools", "--workers", "1", "--no-access-log"]


# Started by the baked service's own test helper, so the bench runs the PgBouncer its tests do;
# it prints the port, then runs until its standard input closes.
PGBOUNCER = """\
import sys
from tests.support.pgbouncer import running_pgbouncer
with running_pgbouncer(sys.argv[1], pool_size=int(sys.argv[2])) as bouncer:
    print(bouncer.port, flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def pgbouncer(project: Path, url: str) -> Iterator[str]:
    """A PgBouncer in front of `url`'s server; yields `url` reached through it."""
    with in_service(project, PGBOUNCER, url, str(POOL_SIZE)) as port:
        if not port.isdigit():
            raise RuntimeError("PgBouncer did not start")
        yield make_url(url).set(host="127.0.0.1", port=int(port)).render_as_string(False)


def apps_for(
    variant: Variant,
    project: Path,
    url: str,
    workdir: Path,
    names: list[str],
    pooler_url: str | None = None,
    baseline: Path | None = None,
    *,
    access: Access,
) -> list[App]:
    """The apps `names` of the variant; every one but `raw` trusts `access`'s identity provider
    and is called with its token (a `baseline` from before access control ignores both)."""
    slug = variant.slug
    uvicorn = [str(project / ".venv/bin/uvicorn"), f"{slug}.main:app", *UVICORN_FLAGS]
    base_env = clean_environment(DATABASE_URL=url, **access.environment)
    apps = []
    for name in names:
        if name == "template":
            apps.append(App(name, uvicorn, project, base_env))
        elif name == "workers2":
            command = [*uvicorn]
            command[command.index("--workers") + 1] = str(WORKERS)
            metrics = workdir / variant.id / "prometheus-multiproc"
            env = {
                **base_env,
                "WEB_CONCURRENCY": str(WORKERS),
                "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            }
            apps.append(App(name, command, project, env, fresh_directory=metrics))
        elif name == "pgbouncer":
            if pooler_url is None:
                continue  # a database without a transaction pooler
            env = {**base_env, "DATABASE_URL": pooler_url, "DATABASE_POOLER": "pgbouncer"}
            apps.append(App(name, uvicorn, project, env))
        elif name == "unobserved":
            env = {**base_env, "METRICS_ENABLED": "false", "LOG_LEVEL": "WARNING"}
            apps.append(App(name, uvicorn, project, env))
        elif name == "defaults":
            copy = defaults.make_copy(project, slug, workdir / variant.id / "defaults-src")
            compile_bytecode(project / ".venv/bin/python", copy)
            env = {**base_env, **defaults.ENVIRONMENT, "PYTHONPATH": str(copy)}
            apps.append(App(name, uvicorn, project, env))
        elif name == "baseline":
            if baseline is None:
                raise ValueError("the baseline app needs --baseline REV")
            command = [str(baseline / ".venv/bin/uvicorn"), f"{slug}.main:app", *UVICORN_FLAGS]
            apps.append(App(name, command, baseline, base_env))
        elif name == "raw":
            venv = reference_venv(workdir)
            command = [str(venv / "bin/uvicorn"), "raw_app:app", *UVICORN_FLAGS]
            apps.append(App(name, command, BENCH / "reference", raw_environment(variant, url)))
    for app in apps:
        if app.name != "raw":
            app.token = access.token
    return apps


def raw_environment(variant: Variant, url: str) -> dict[str, str]:
    """The raw reference's environment: its database and the raw driver's DSN for `url`."""
    parsed = make_url(url)
    if variant.database == "sqlite":
        dsn = str(parsed.database)
    else:
        scheme = "postgresql" if variant.database == "postgres" else "mysql"
        dsn = f"{scheme}://{parsed.username}@{parsed.host}:{parsed.port}/{parsed.database}"
    return clean_environment(RAW_DATABASE=variant.database, RAW_DSN=dsn)


def seed(app: App, items: int, log: Path) -> None:
    """Items 1 to `items` for GET and PATCH, then the orders' stock items after them."""
    server = app.start(log)
    try:
        for start in range(0, items, 1000):
            batch = [
                {"name": f"seed-{n}", "quantity": n % 1000}
                for n in range(start, min(items, start + 1000))
            ]
            post_json(server.port, "/items/bulk", batch, app.token)
        stock = [{"name": f"stock-{n}", "quantity": STOCK} for n in range(STOCK_ITEMS)]
        post_json(server.port, "/items/bulk", stock, app.token)
    finally:
        server.stop()
