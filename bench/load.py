"""Load benchmark of the generated services against two references (issue 5).

    uv run python bench/load.py [--variant postgres-async-flush-commit ...] [--profile 10]

Needs wrk (`apt-get install wrk`, Debian's package; any wrk 4.x with LuaJIT) and the database
servers the test suite needs (PostgreSQL on 127.0.0.1:5432, MariaDB/MySQL on 127.0.0.1:3306).
For each chosen variant (default: all 12), one after the other:

1. bake it, `uv sync` it plus uvloop and httptools into its own venv, migrate a fresh database
   (`alembic upgrade head`) and seed 10,000 items through `POST /items/bulk` (batches of 1000),
   then 100 stock items with a stock no run can exhaust, for the orders;
2. run the chosen apps (--app; default `template`, `defaults`, `raw`) back to back against that
   database, each with `uvicorn --loop uvloop --http httptools --workers 1 --no-access-log`:
   - `template`: the generated service as a user gets it (its settings' defaults);
   - `defaults`: the same service with library defaults: a patched copy without the admission
     slot and without the pool's liveness check, QueuePool 5 + 10 (bench/reference/defaults.py);
   - `raw`: Starlette on the raw async driver doing the same queries (bench/reference/raw_app.py);
   - `workers2`: the template with WEB_CONCURRENCY=2 and `--workers 2` (two processes, a pool
     each, metrics in prometheus-client's multiprocess mode);
   - `pgbouncer` (PostgreSQL only): the template through a PgBouncer in transaction pool mode
     with as many server connections as the service's pool (10), DATABASE_POOLER=pgbouncer;
     PgBouncer is started by the baked service's own test helper (tests/pgbouncer.py);
   - `unobserved`: the template with METRICS_ENABLED=false and LOG_LEVEL=WARNING (no metrics,
     no per-request log line): what observability costs;
   - `baseline` (with --baseline REV): the service baked from that git revision of the
     template, as shipped then: a change's effect in the same run as its baseline;
3. for each app, five scenarios, each on a freshly started server (cold start to the first 200
   on /health is measured every time): the mix (GET /items/{random id}, GET /items?page=N
   &page_size=20, POST /items with a unique name, PATCH /items/{random id} {"quantity": n},
   POST /orders with two lines; a fifth each) at 64 and at 256 connections after a warm-up
   (default 3 s + 10 s), then GET one item alone, POST alone and POST /orders alone at 64
   connections (default 2 s + 5 s), in --rounds rounds (default 3): each round runs every app
   but `defaults` back to back (`defaults` only in the first), and the table shows the round
   with the median requests/s and the range of all rounds (--mix-rounds does the same for the
   mixes). The raw reference's throughput
   varies far more from run to run than the services' on a shared machine; medians keep one
   disturbed run from deciding a ratio.

Measured per run: requests/s, p50/p99/max latency (wrk's, uncorrected), socket errors
(connect/read/write/timeout), non-2xx responses, pool timeouts (in the server's log), database
connections opened from server start to the end of the run (PostgreSQL: pg_stat_database.sessions
of the run's own database, which counts every connection; MariaDB: distinct connection ids of
the run's database in the process list, sampled every 20 ms; SQLite: n/a), the server's RSS after
the load (all its processes), the cold start, and the server's CPU time per request (user +
system of all its processes during the measured run, over the requests answered): a figure
that moves less from machine to machine than requests/s. Ratios are each app's requests/s over
the raw reference's in the same scenario.

Prints a table per variant and a check of the targets (issue 16); writes bench/results.json and
bench/ratios.png and, for a run of all 12 variants, the generated section of bench/RESULTS.md
(--section NAME writes a section of that name instead, for a run of some variants).
--profile N adds, per variant, an N-second py-spy recording of the template app under the mix at
64 connections (a separate run, so it does not disturb the measurements), summarised by package
in bench/profiles/<variant>.txt. Takes about 4 minutes per variant with the defaults.
"""

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
TEMPLATE = BENCH.parent
sys.path.insert(0, str(TEMPLATE))
sys.path.insert(0, str(BENCH))

import psycopg  # noqa: E402
import pymysql  # noqa: E402
from reference import defaults  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests.variants import (  # noqa: E402
    VARIANTS,
    Variant,
    clean_environment,
    fresh_database,
    uv,
)

APPS = ("template", "defaults", "raw", "workers2", "pgbouncer", "unobserved", "baseline")
DEFAULT_APPS = ["template", "defaults", "raw"]
POOL_SIZE = 10  # the generated services' default pool_size (max_overflow 0)
WORKERS = 2  # of the `workers2` app
STOCK_ITEMS = 100  # seeded after the items, for the orders
STOCK = 1_000_000_000  # each stock item's: no run takes it all


@dataclass
class Scenario:
    name: str  # mix | get | post
    connections: int
    warmup: float
    duration: float
    rounds: int = 1

    @property
    def id(self) -> str:
        return f"{self.name}@{self.connections}"


@dataclass
class Result:
    variant: str
    app: str
    scenario: str
    connections: int
    rps: float = 0.0
    cpu_us: float = 0.0  # the server's CPU time per request answered
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    errors: int = 0
    timeouts: int = 0
    non_2xx: int = 0
    pool_timeouts: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    db_connections: int | None = None
    rss_mb: float = 0.0
    cold_start_s: float = 0.0
    ratio: float | None = None
    round_rps: list[float] = field(default_factory=list)  # every round's, when rounds > 1


# --- the database servers: connections opened by the app under test ----------------------------


class ConnectionCounter:
    """Counts the connections the app opens to `database` between start() and stop()."""

    def __init__(self, variant: Variant, url: str) -> None:
        self.kind = variant.database
        self.name = make_url(url).database
        self.seen: set[Any] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._before = 0

    def _connect(self) -> Any:
        if self.kind == "postgres":
            return psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True)
        return pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)

    def _sessions(self, connection: Any) -> int:
        row = connection.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", (self.name,)
        ).fetchone()
        return int(row[0])

    def start(self) -> None:
        if self.kind == "sqlite":
            return
        self.seen.clear()
        self._stop.clear()
        self._monitor = self._connect()
        if self.kind == "postgres":
            self._wait_for_earlier_backends()
            self._before = self._sessions(self._monitor)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _wait_for_earlier_backends(self, limit: float = 3.0) -> None:
        """A backend counts its session when it exits: the previous server's backends must be
        gone before the count starts, or they count for this run. (Behind PgBouncer they
        stay; the wait is bounded.)"""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            row = self._monitor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.name,)
            ).fetchone()
            if row[0] == 0:
                return
            time.sleep(0.05)

    def _sample(self) -> None:
        while not self._stop.is_set():
            if self.kind == "postgres":
                rows = self._monitor.execute(
                    "SELECT pid, backend_start FROM pg_stat_activity WHERE datname = %s",
                    (self.name,),
                ).fetchall()
            else:
                with self._monitor.cursor() as cursor:
                    cursor.execute(
                        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s", (self.name,)
                    )
                    rows = cursor.fetchall()
            self.seen.update(tuple(row) for row in rows)
            self._stop.wait(0.02)

    def stop(self) -> int | None:
        """Call after the server has exited: PostgreSQL counts a session when it ends too."""
        if self.kind == "sqlite" or self._thread is None:
            return None
        self._stop.set()
        self._thread.join()
        if self.kind == "postgres":
            # Backends report their session when they exit, sometimes a while after they are
            # gone: wait until every connection seen is counted, or the next run's count would
            # take them (bounded, for a count that stays short).
            deadline = time.monotonic() + 5
            count = self._sessions(self._monitor) - self._before
            while count < len(self.seen) and time.monotonic() < deadline:
                time.sleep(0.1)
                count = self._sessions(self._monitor) - self._before
            count = max(count, len(self.seen))
        else:
            count = len(self.seen)
        self._monitor.close()
        return count


# --- servers ------------------------------------------------------------------------------------


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


def post_json(port: int, path: str, body: Any) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


# --- load -----------------------------------------------------------------------------------------


def wrk(port: int, scenario: Scenario, seconds: float, threads: int, items: int) -> dict[str, Any]:
    command = [
        "wrk",
        "-t",
        str(min(threads, scenario.connections)),
        "-c",
        str(scenario.connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(BENCH / "mix.lua"),
        f"http://127.0.0.1:{port}",
        "--",
        scenario.name,
        uuid.uuid4().hex[:10],
        str(items),
        str(int(time.time()) % 100000),
        str(STOCK_ITEMS),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    for line in completed.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            return json.loads(line.removeprefix("BENCHJSON "))
    raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")


@dataclass
class App:
    name: str
    command: list[str]
    cwd: Path
    env: dict[str, str]
    # Emptied before every start (prometheus-client's multiprocess directory).
    fresh_directory: Path | None = None

    def start(self, log: Path) -> "Server":
        if self.fresh_directory is not None:
            shutil.rmtree(self.fresh_directory, ignore_errors=True)
            self.fresh_directory.mkdir(parents=True)
        return Server([*self.command, "--port", str(free_port())], self.cwd, self.env, log)


def run_scenario(
    variant: Variant,
    app: App,
    scenario: Scenario,
    url: str,
    args: argparse.Namespace,
    log: Path,
) -> Result:
    result = Result(variant.id, app.name, scenario.name, scenario.connections)
    counter = ConnectionCounter(variant, url)
    counter.start()
    server = app.start(log)
    try:
        result.cold_start_s = server.cold_start
        wrk(server.port, scenario, scenario.warmup, args.threads, args.items)
        cpu_before = server.cpu_seconds()
        out = wrk(server.port, scenario, scenario.duration, args.threads, args.items)
        cpu = server.cpu_seconds() - cpu_before
        result.rss_mb = server.rss_mb()
    finally:
        server.stop()
        result.db_connections = counter.stop()
    errors = out["errors"]
    result.rps = out["requests"] / (out["duration_us"] / 1e6)
    result.cpu_us = 1e6 * cpu / max(out["requests"], 1)
    result.p50_ms = out["latency_us"]["p50"] / 1000
    result.p99_ms = out["latency_us"]["p99"] / 1000
    result.max_ms = out["latency_us"]["max"] / 1000
    result.errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    result.timeouts = errors["timeout"]
    result.statuses = out["statuses"]
    result.non_2xx = sum(n for status, n in out["statuses"].items() if not status.startswith("2"))
    text = server.log_text()
    result.pool_timeouts = len(re.findall(r"QueuePool limit|TimeoutError", text))
    return result


def profile(app: App, scenario: Scenario, args: argparse.Namespace, log: Path, out: Path) -> None:
    """Record the app under the scenario with py-spy; write a by-package summary to `out`."""
    server = app.start(log)
    port = server.port
    raw = out.with_suffix(".raw")
    try:
        wrk(port, scenario, scenario.warmup, args.threads, args.items)
        spy = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(server.process.pid),
                "--duration",
                str(args.profile),
                "--rate",
                "250",
                "--nonblocking",
                "--full-filenames",
                "--gil",  # only the thread holding the GIL: where the CPU goes, sync mode too
                "--format",
                "raw",
                "--output",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        wrk(port, scenario, args.profile, args.threads, args.items)
        _, err = spy.communicate(timeout=60)
        if spy.returncode != 0:
            raise RuntimeError(f"py-spy failed: {err}")
    finally:
        server.stop()
    out.write_text(summarise_profile(raw.read_text()))
    shutil.move(raw, log.parent / raw.name)  # the collapsed stacks stay with the server log


def frame_package(frame: str) -> str:
    """The distribution a py-spy frame ("Class.function (/path/file.py:12)") belongs to."""
    match = re.search(r"\((.*):\d+\)$", frame)
    path = match.group(1) if match else frame
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if re.search(r"/src/svc_\w+/", path) or "/defaults-src/" in path:
        return "the service's own code"
    if re.search(r"lib/python3\.\d+/", path):
        return "stdlib"
    return "other"


def summarise_profile(raw: str) -> str:
    """Self time by package (where the CPU is spent) and inclusive time of marked steps."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        package = frame_package(frames[-1])
        if package == "stdlib":
            # the standard library's time goes to the nearest caller outside it (asyncio: the loop)
            callers = [frame_package(f) for f in frames if frame_package(f) != "stdlib"]
            package = f"{callers[-1] if callers else 'other'} (in stdlib)"
        own[package] += count
        for step, pattern in STEPS.items():
            if any(re.search(pattern, frame) for frame in frames):
                inclusive[step] += count
    lines = [
        f"{total} samples (py-spy, 250 Hz, thread holding the GIL)",
        "",
        "self time by package:",
    ]
    for package, count in own.most_common(15):
        lines.append(f"  {100 * count / max(total, 1):5.1f} %  {package}")
    lines += ["", "inclusive time of steps (a sample may count in several):"]
    for step in STEPS:
        lines.append(f"  {100 * inclusive[step] / max(total, 1):5.1f} %  {step}")
    return "\n".join(lines) + "\n"


STEPS = {
    "whole request in FastAPI (routing, dependencies, endpoint, response)": r"^FastAPI\.__call__ ",
    "dependency solving (get_session, database_slot, body)": r"^solve_dependencies ",
    "endpoint function (service + repository)": r"^(create_item|get_item|list_items|update_item) "
    r"\(.*/routes\.py",  # every resource's routes
    "session.commit / session.begin() exit": r"^(AsyncSession|Session|SessionTransaction)"
    r"\.(commit|__aexit__|__exit__) ",
    "ORM statements (get, execute, scalars, flush)": r"^(AsyncSession|Session)\."
    r"(get|execute|scalars|scalar|flush) ",
    "pool checkout": r"^_ConnectionFairy\._checkout ",
    "pre-ping": r"\.(do_ping|_do_ping_w_event) ",
    "session close / connection return": r"^(AsyncSession|Session)\.(close|__aexit__|__exit__) ",
    "response serialisation (response_model)": r"^serialize_response ",
    "database driver (asyncpg, psycopg, aiomysql, pymysql, sqlite3)": r"/site-packages/"
    r"(asyncpg|psycopg|aiomysql|pymysql|aiosqlite)/",
    "HTTP server (uvicorn, httptools)": r"/site-packages/uvicorn/protocols/",
}


# --- one variant ----------------------------------------------------------------------------------


def prepare(variant: Variant, workdir: Path, template: Path = TEMPLATE, name: str = "") -> Path:
    env = clean_environment()
    out = workdir / variant.id / name if name else workdir / variant.id
    out.mkdir(parents=True)
    bake = [sys.executable, "-m", "cookiecutter", str(template), "--no-input", "-o", str(out)]
    bake += [f"{key}={value}" for key, value in variant.context.items()]
    subprocess.run(bake, cwd=workdir, env=env, check=True, capture_output=True)
    project = out / variant.slug
    # Compiled bytecode, as the generated Dockerfile has it (UV_COMPILE_BYTECODE=1): without it,
    # and with PYTHONDONTWRITEBYTECODE set, every start compiles every module again.
    subprocess.run(
        [uv(), "sync", "--quiet", "--compile-bytecode"], cwd=project, env=env, check=True
    )
    pip_install(project / ".venv/bin/python", "uvloop", "httptools")
    compile_bytecode(project / ".venv/bin/python", project / "src")
    return project


def baseline_tree(revision: str, workdir: Path) -> Path:
    """The template at `revision`, exported (not a worktree: nothing is left in .git)."""
    tree = workdir / "baseline-template"
    if not tree.exists():
        tree.mkdir()
        archive = subprocess.run(
            ["git", "archive", revision], cwd=TEMPLATE, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def service_url(variant: Variant, base_url: str) -> str:
    """The service's DATABASE_URL for a fresh database of the suite's helpers."""
    return base_url + ("?charset=utf8mb4" if variant.database == "mysql" else "")


def migrate(project: Path, url: str) -> None:
    """`alembic upgrade head` of the baked service against `url`."""
    subprocess.run(
        [".venv/bin/alembic", "upgrade", "head"],
        cwd=project,
        env=clean_environment(DATABASE_URL=url),
        check=True,
        capture_output=True,
    )


def pip_install(python: Path, *requirements: str) -> None:
    """Install into the environment of `python`, compiled as the generated Dockerfile does."""
    command = [uv(), "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python)]
    subprocess.run([*command, *requirements], env=clean_environment(), check=True)


def compile_bytecode(python: Path, directory: Path) -> None:
    subprocess.run([str(python), "-m", "compileall", "-q", str(directory)], check=True)


def reference_venv(workdir: Path) -> Path:
    venv = workdir / "reference-venv"
    if not venv.exists():
        env = clean_environment()
        subprocess.run([uv(), "venv", "--quiet", str(venv)], check=True, env=env)
        pip_install(venv / "bin/python", "-r", str(BENCH / "reference/requirements.txt"))
    return venv


UVICORN_FLAGS = ["--loop", "uvloop", "--http", "httptools", "--workers", "1", "--no-access-log"]


# Started by the baked service's own test helper, so the bench runs the PgBouncer its tests do;
# it prints the port, then runs until its standard input closes.
PGBOUNCER = """\
import sys
from tests.pgbouncer import running_pgbouncer
with running_pgbouncer(sys.argv[1], pool_size=int(sys.argv[2])) as bouncer:
    print(bouncer.port, flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def pgbouncer(project: Path, url: str) -> Iterator[str]:
    """A PgBouncer in front of `url`'s server; yields `url` reached through it."""
    process = subprocess.Popen(
        [str(project / ".venv/bin/python"), "-c", PGBOUNCER, url, str(POOL_SIZE)],
        cwd=project,
        env=clean_environment(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        port = process.stdout.readline().strip()
        if not port.isdigit():
            raise RuntimeError(f"PgBouncer did not start (exit {process.wait(30)})")
        yield make_url(url).set(host="127.0.0.1", port=int(port)).render_as_string(False)
    finally:
        process.stdin.close()
        process.wait(30)


def apps_for(
    variant: Variant,
    project: Path,
    url: str,
    workdir: Path,
    names: list[str],
    pooler_url: str | None = None,
    baseline: Path | None = None,
) -> list[App]:
    slug = variant.slug
    uvicorn = [str(project / ".venv/bin/uvicorn"), f"{slug}.main:app", *UVICORN_FLAGS]
    base_env = clean_environment(DATABASE_URL=url)
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


def run_variant(variant: Variant, args: argparse.Namespace, workdir: Path) -> list[Result]:
    started = time.perf_counter()
    project = prepare(variant, workdir)
    baseline = None
    if "baseline" in args.apps:
        tree = baseline_tree(args.baseline, workdir)
        baseline = prepare(variant, workdir, tree, name="baseline")
    log = workdir / variant.id / "server.log"
    log.touch()
    results: list[Result] = []
    with fresh_database(variant, workdir / variant.id) as base_url:
        url = service_url(variant, base_url)
        migrate(project, url)
        with contextlib.ExitStack() as stack:
            pooler_url = None
            if "pgbouncer" in args.apps and variant.database == "postgres":
                pooler_url = stack.enter_context(pgbouncer(project, url))
            apps = apps_for(variant, project, url, workdir, args.apps, pooler_url, baseline)
            seed(apps_for(variant, project, url, workdir, ["template"])[0], args.items, log)
            print(f"[{variant.id}] ready in {time.perf_counter() - started:.0f} s", flush=True)
            results += run_apps(variant, apps, url, args, log)
        if args.profile and "template" in args.apps:
            out = BENCH / "profiles" / f"{variant.id}.txt"
            out.parent.mkdir(exist_ok=True)
            template = next(app for app in apps if app.name == "template")
            profile(template, scenarios(args)[0], args, log, out)
            print(f"  profile: {out.relative_to(TEMPLATE)}", flush=True)
    raws = {r.scenario + str(r.connections): r.rps for r in results if r.app == "raw"}
    for result in results:
        raw = raws.get(result.scenario + str(result.connections))
        result.ratio = result.rps / raw if raw else None
    print(f"[{variant.id}] done in {time.perf_counter() - started:.0f} s", flush=True)
    return results


def run_apps(
    variant: Variant, apps: list[App], url: str, args: argparse.Namespace, log: Path
) -> list[Result]:
    """Every scenario for every app, in rounds of all apps back to back; the median round."""
    results: list[Result] = []
    for scenario in scenarios(args):
        rounds: dict[str, list[Result]] = {app.name: [] for app in apps}
        for round_ in range(scenario.rounds):
            for app in apps:
                if round_ > 0 and app.name == "defaults":
                    continue
                result = run_scenario(variant, app, scenario, url, args, log)
                rounds[app.name].append(result)
                print(
                    f"  {app.name:<11}{scenario.id:<10}{result.rps:>9.0f} req/s  "
                    f"{result.cpu_us:>6.0f} us CPU/req  p99 {result.p99_ms:>7.1f} ms  "
                    f"errors {result.errors} non-2xx {result.non_2xx}",
                    flush=True,
                )
        results += [median_round(runs) for runs in rounds.values()]
    return results


def median_round(runs: list[Result]) -> Result:
    """The run with the median requests/s (the lower one of an even count), with every run's
    requests/s, errors summed over all runs so none is hidden."""
    ordered = sorted(runs, key=lambda r: r.rps)
    median = ordered[(len(ordered) - 1) // 2]
    if len(runs) > 1:
        median.round_rps = [r.rps for r in runs]
        median.errors = sum(r.errors for r in runs)
        median.timeouts = sum(r.timeouts for r in runs)
        median.non_2xx = sum(r.non_2xx for r in runs)
        median.pool_timeouts = sum(r.pool_timeouts for r in runs)
    return median


def seed(app: App, items: int, log: Path) -> None:
    """Items 1 to `items` for GET and PATCH, then the orders' stock items after them."""
    server = app.start(log)
    try:
        for start in range(0, items, 1000):
            batch = [
                {"name": f"seed-{n}", "quantity": n % 1000}
                for n in range(start, min(items, start + 1000))
            ]
            post_json(server.port, "/items/bulk", batch)
        stock = [{"name": f"stock-{n}", "quantity": STOCK} for n in range(STOCK_ITEMS)]
        post_json(server.port, "/items/bulk", stock)
    finally:
        server.stop()


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    mixes = [
        Scenario("mix", c, args.warmup, args.duration, args.mix_rounds) for c in args.connections
    ]
    singles = [
        Scenario(
            name, args.connections[0], args.endpoint_warmup, args.endpoint_duration, args.rounds
        )
        for name in ("get", "post", "order")
        if args.endpoint_duration > 0
    ]
    return mixes + singles


# --- reports --------------------------------------------------------------------------------------


def median_cold_start(results: list[Result], variant: str, app: str) -> float:
    return statistics.median(
        r.cold_start_s for r in results if r.variant == variant and r.app == app
    )


def table(results: list[Result], variant: str) -> str:
    rows = [r for r in results if r.variant == variant]
    header = (
        "| app | scenario | req/s | ratio to raw | CPU µs/req | p50 ms | p99 ms | max ms "
        "| errors | non-2xx | pool timeouts | db conns opened | RSS MB | cold start s |"
    )
    lines = [f"**{variant}**", "", header, "|" + "---|" * 14]
    for r in rows:
        ratio = f"{100 * r.ratio:.0f} %" if r.ratio is not None else ""
        conns = "n/a" if r.db_connections is None else str(r.db_connections)
        rps = f"{r.rps:.0f}"
        if r.round_rps:
            rps += f" ({min(r.round_rps):.0f}-{max(r.round_rps):.0f})"
        lines.append(
            f"| {r.app} | {r.scenario}@{r.connections} | {rps} | {ratio} | {r.cpu_us:.0f} "
            f"| {r.p50_ms:.1f} "
            f"| {r.p99_ms:.1f} | {r.max_ms:.0f} | {r.errors} | {r.non_2xx} | {r.pool_timeouts} "
            f"| {conns} | {r.rss_mb:.0f} | {r.cold_start_s:.2f} |"
        )
    return "\n".join(lines)


def check_targets(results: list[Result], variant: Variant) -> list[tuple[str, bool, str]]:
    """The targets for the template app of one variant (issue 16's ratios, issue 5's others):
    (target, met, evidence)."""
    rows = [r for r in results if r.variant == variant.id and r.app == "template"]
    if not rows:
        return []
    checks = []
    bad = [r for r in rows if r.errors or r.non_2xx or r.pool_timeouts]
    checks.append(
        (
            "zero errors, non-2xx, pool timeouts",
            not bad,
            "; ".join(
                f"{r.scenario}@{r.connections}: {r.errors} err, {r.non_2xx} non-2xx "
                f"{r.statuses}, {r.pool_timeouts} pool timeouts"
                for r in bad
            )
            or "all runs clean",
        )
    )
    if variant.database != "sqlite":
        most = max(r.db_connections or 0 for r in rows)
        checks.append(
            (
                f"db connections opened <= pool size ({POOL_SIZE})",
                most <= POOL_SIZE,
                f"at most {most} per run",
            )
        )
    for r in rows:
        if r.connections == 64:
            exempt = variant.database == "sqlite" and r.scenario in ("mix", "post", "order")
            ok = r.p99_ms <= 3 * r.p50_ms
            checks.append(
                (
                    f"p99 <= 3x p50 at 64 ({r.scenario})"
                    + (" [SQLite writes exempt]" if exempt else ""),
                    ok or exempt,
                    f"p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms "
                    f"({r.p99_ms / max(r.p50_ms, 1e-9):.1f}x)",
                )
            )
    floor = {
        ("async", "get"): 0.22,
        ("async", "post"): 0.22,
        ("async", "mix"): 0.35,
        ("sync", "get"): 0.12,
        ("sync", "post"): 0.12,
    }
    if variant.mode == "sync" or variant.database != "sqlite":
        for r in rows:
            target = floor.get((variant.mode, r.scenario))
            if target is not None and r.ratio is not None:
                checks.append(
                    (
                        f"{r.scenario}@{r.connections} >= {100 * target:.0f} % of raw",
                        r.ratio >= target,
                        f"{100 * r.ratio:.1f} %",
                    )
                )
    # Issue 14: the shipped service (metrics and logs on) within 10 % of itself with both off,
    # and of the --baseline revision, in the same run. CPU per request is the steadier figure.
    against = {"unobserved": "metrics and logs off", "baseline": "the baseline revision"}
    for other, label in against.items():
        others = {
            (r.scenario, r.connections): r
            for r in results
            if r.variant == variant.id and r.app == other
        }
        for r in rows:
            them = others.get((r.scenario, r.connections))
            if them is not None and them.rps and them.cpu_us:
                change = r.rps / them.rps - 1
                checks.append(
                    (
                        f"{r.scenario}@{r.connections} within 10 % of {label}",
                        change >= -0.10,
                        f"{100 * change:+.1f} % req/s, "
                        f"{100 * (r.cpu_us / them.cpu_us - 1):+.1f} % CPU per request",
                    )
                )
    rss = max(r.rss_mb for r in rows)
    checks.append(("RSS after load <= 110 MB", rss <= 110, f"max {rss:.0f} MB"))
    start = median_cold_start(results, variant.id, "template")
    worst = max(r.cold_start_s for r in rows)
    checks.append(("cold start <= 1.5 s", start <= 1.5, f"median {start:.2f} s, max {worst:.2f} s"))
    return checks


def chart(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = list(dict.fromkeys(r.variant for r in results))
    series = [
        (app, scenario)
        for app in ("template", "defaults")
        for scenario in list(dict.fromkeys(f"{r.scenario}@{r.connections}" for r in results))
    ]
    fig, ax = plt.subplots(figsize=(max(8, 1.3 * len(variants) + 3), 5.5))
    width = 0.8 / max(1, len(series))
    for i, (app, scenario) in enumerate(series):
        values = []
        for variant in variants:
            match = [
                r.ratio
                for r in results
                if r.variant == variant
                and r.app == app
                and f"{r.scenario}@{r.connections}" == scenario
            ]
            values.append(100 * (match[0] or 0) if match else 0)
        positions = [v + (i - len(series) / 2 + 0.5) * width for v in range(len(variants))]
        ax.bar(
            positions,
            values,
            width,
            label=f"{app} {scenario}",
            hatch="//" if app == "defaults" else None,
            alpha=0.9 if app == "template" else 0.6,
        )
    ax.axhline(22, color="red", linestyle="--", linewidth=0.8, label="target: async GET 22 %")
    ax.axhline(12, color="orange", linestyle="--", linewidth=0.8, label="target: sync 12 %")
    ax.set_xticks(range(len(variants)))
    ax.set_xticklabels(variants, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("requests/s, % of raw Starlette + async driver")
    ax.set_title("Throughput relative to the raw reference (same scenario, back to back)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine() -> str:
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    memory = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return (
        f"{os.cpu_count()} cores ({cpu.group(1) if cpu else '?'}), "
        f"{int(memory.group(1)) // 1024 // 1024 if memory else '?'} GiB RAM, "
        f"{platform.platform()}, Python {platform.python_version()}, "
        f"{wrk_version.split(' Copyright')[0].strip()}"
    )


def report(results: list[Result], variants: list[Variant], args: argparse.Namespace) -> str:
    lines = [
        f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        "",
        f"Command: `{args.command}`",
        "",
        "Ratios are requests/s over the raw reference's in the same scenario, measured back to "
        "back; `template` is the generated service as shipped"
        + "".join(f"; {APP_NOTES[app]}" for app in args.apps if app in APP_NOTES)
        + (f". The mixes: the median of {args.mix_rounds} rounds" if args.mix_rounds > 1 else "")
        + f". GET, POST and orders alone: the median of {args.rounds} rounds (range in brackets;"
        " errors summed over all rounds"
        + ("; `defaults` one round" if "defaults" in args.apps else "")
        + "). Latencies are wrk's (uncorrected). CPU µs/req: the server's user + system time "
        "over the requests it answered."
        + ("" if args.section else " Chart: [ratios.png](ratios.png)."),
        "",
    ]
    for variant in variants:
        lines += [table(results, variant.id), ""]
    lines += ["### Targets (template app)", ""]
    lines += ["| variant | target | met | evidence |", "|---|---|---|---|"]
    for variant in variants:
        for target, met, evidence in check_targets(results, variant):
            lines.append(f"| {variant.id} | {target} | {'yes' if met else '**no**'} | {evidence} |")
    return "\n".join(lines) + "\n"


APP_NOTES = {
    "defaults": "`defaults` the same service without the admission slot and the pool's liveness "
    "check, on QueuePool 5 + 10",
    "workers2": f"`workers2` the template with {WORKERS} uvicorn workers (WEB_CONCURRENCY)",
    "pgbouncer": "`pgbouncer` the template through PgBouncer (transaction pool mode, "
    f"{POOL_SIZE} server connections, DATABASE_POOLER=pgbouncer)",
    "unobserved": "`unobserved` the template with METRICS_ENABLED=false, LOG_LEVEL=WARNING",
    "baseline": "`baseline` the service baked from the --baseline revision of the template",
}


def markers(section: str) -> tuple[str, str]:
    if section == "main":  # the full run's, named as it always was
        return (
            "<!-- bench/load.py: generated section begins -->",
            "<!-- bench/load.py: generated section ends -->",
        )
    return (
        f"<!-- bench/load.py: section {section} begins -->",
        f"<!-- bench/load.py: section {section} ends -->",
    )


def record(text: str, section: str) -> None:
    """Replace the section's generated text in bench/RESULTS.md (appended when it is new)."""
    begin, end = markers(section)
    path = BENCH / "RESULTS.md"
    current = path.read_text() if path.exists() else "# Load benchmark results\n"
    if begin not in current:
        current = f"{current.rstrip()}\n\n{begin}\n{end}\n"
    before, _, rest = current.partition(begin)
    _, _, after = rest.partition(end)
    path.write_text(f"{before}{begin}\n{text}{end}{after}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", help="variant id (default: all 12)")
    parser.add_argument(
        "--app",
        dest="apps",
        action="append",
        choices=APPS,
        help=f"app to run (default: {', '.join(DEFAULT_APPS)})",
    )
    parser.add_argument(
        "--connections",
        type=lambda s: [int(c) for c in s.split(",")],
        default=[64, 256],
        help="comma-separated (default 64,256)",
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before each mix run")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each mix run")
    parser.add_argument("--endpoint-warmup", type=float, default=2.0)
    parser.add_argument(
        "--endpoint-duration",
        type=float,
        default=5.0,
        help="seconds of the GET-only and POST-only runs (0: skip them)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of the GET-only and POST-only runs; the median counts (default 3)",
    )
    parser.add_argument(
        "--mix-rounds",
        type=int,
        default=1,
        help="rounds of the mix runs, as --rounds for the others (default 1)",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--items", type=int, default=10_000, help="items seeded")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="SECONDS",
        help="py-spy the template app under the mix at 64 connections",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="git revision of the template that the `baseline` app is baked from",
    )
    parser.add_argument("--workdir", type=Path, help="keep baked variants and logs here")
    parser.add_argument(
        "--record",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write bench/RESULTS.md (default: only for a run of all 12, or with --section)",
    )
    parser.add_argument(
        "--section",
        help="the section of bench/RESULTS.md to write (default: the full run's, `main`)",
    )
    args = parser.parse_args()
    args.apps = args.apps or list(DEFAULT_APPS)
    if args.baseline and "baseline" not in args.apps:
        args.apps.append("baseline")
    if "baseline" in args.apps and not args.baseline:
        parser.error("--app baseline needs --baseline REV")
    args.command = "uv run python bench/load.py " + " ".join(sys.argv[1:])
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed: `apt-get install wrk`")
    unknown = set(args.variant or ()) - {v.id for v in VARIANTS}
    if unknown:
        parser.error(
            f"unknown variant(s) {sorted(unknown)}; choose from {[v.id for v in VARIANTS]}"
        )
    variants = [v for v in VARIANTS if not args.variant or v.id in args.variant]

    results: list[Result] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="load-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for variant in variants:
            results += run_variant(variant, args, workdir)
            print()
            print(table(results, variant.id))
            for target, met, evidence in check_targets(results, variant):
                print(f"  {'ok  ' if met else 'MISS'} {target}: {evidence}")
            print(flush=True)
    wall = time.perf_counter() - started
    print(f"{len(variants)} variants in {wall / 60:.1f} min")

    # A run of some variants keeps the full run's files (results.json, ratios.png) as they are;
    # with --section it writes results-<section>.json beside them.
    full_run = len(variants) == len(VARIANTS)
    if full_run or args.section:
        suffix = f"-{args.section}" if args.section else ""
        (BENCH / f"results{suffix}.json").write_text(
            json.dumps(
                {
                    "command": args.command,
                    "machine": machine(),
                    "results": [asdict(r) for r in results],
                },
                indent=1,
            )
            + "\n"
        )
    if "raw" in args.apps and full_run and not args.section:
        chart(results, BENCH / "ratios.png")
    if args.record or (args.record is None and (full_run or args.section)):
        text = report(results, variants, args) + f"\nWall time of the run: {wall / 60:.1f} min.\n"
        record(text, args.section or "main")
        print(f"wrote bench/RESULTS.md ({args.section or 'main'} section)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
