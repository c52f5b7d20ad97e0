"""A real uvicorn with 2 worker processes, started as the Dockerfile starts it: concurrent
reads and writes lose nothing and hold at most the workers' pools on the server; then a SIGTERM
in the middle of a stream of writes drains it: every write answered 2xx is stored, no connection
is left on the server, and the server exits cleanly. Without a server, the 2 workers write one
database file. Traces are on, exported over OTLP/HTTP to a real collector: each worker sets up
its own provider after the fork (spans arrive from both processes), and the drain loses no span
(every answered request's server span is exported, the last ones at shutdown)."""

import signal
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from opentelemetry.trace import SpanKind
from sqlalchemy import NullPool

from .support.database import execute, open_engine
from .support.dialect import count_other_connections, created_database
from .support.identity_provider import access_headers
from .support.project import PROJECT_ROOT, migrate
from .support.traces import Collector, running_collector
from .support.uvicorn_server import Uvicorn, running_uvicorn

pytestmark = pytest.mark.anyio

WORKERS = 2
POOL_SIZE = 3
# Seconds uvicorn lets requests in flight finish after SIGTERM (the Dockerfile sets it too).
GRACE_SECONDS = 10
START_TIMEOUT = 120.0  # two interpreters importing the app, on a loaded CI machine
REQUESTS = 150
WRITERS = 20


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database of this test's own: the server's connections to it are the workers' only."""
    with created_database(tmp_path) as url:
        migrate(url)
        yield url


@pytest.fixture
def collector() -> Iterator[Collector]:
    with running_collector() as collector:
        yield collector


@pytest.fixture
def server(database_url: str, tmp_path: Path, collector: Collector) -> Iterator[Uvicorn]:
    """uvicorn with WORKERS processes, configured through the environment as in the Dockerfile,
    traces exported to `collector`. Stopped (and, if it does not stop, killed) afterwards."""
    environment = {
        "DATABASE_URL": database_url,
        "WEB_CONCURRENCY": str(WORKERS),
        "UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN": str(GRACE_SECONDS),
        "POOL_SIZE": str(POOL_SIZE),
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.url,
    }
    with running_uvicorn(
        environment=environment,
        cwd=PROJECT_ROOT,
        log=tmp_path / "uvicorn.log",
        stop_timeout=GRACE_SECONDS + 10,
    ) as uvicorn:
        # Ready when answers came from every worker, as far as a client can tell: several.
        answered = 0

        def answered_by_every_worker() -> bool:
            nonlocal answered
            answered += uvicorn.answers("/health/ready", timeout=2)
            return answered >= 3 * WORKERS

        uvicorn.wait_until(answered_by_every_worker, START_TIMEOUT)
        yield uvicorn


async def stored_names(database_url: str) -> set[str]:
    async with open_engine(database_url, poolclass=NullPool) as engine:
        return {row.name for row in await execute(engine, "SELECT name FROM items")}


async def test_two_workers_serve_everything_then_drain_on_sigterm(
    database_url: str, server: Uvicorn, collector: Collector
) -> None:
    process, base_url, log = server.process, server.base_url, server.log

    # 1. Concurrent reads and writes, while the server's connections are sampled.
    statuses: Counter[int] = Counter()
    acknowledged: set[str] = set()
    answered: set[str] = set()  # the X-Request-ID of every answer: its server span's
    peak = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=30, headers=access_headers()) as client:
        seed = (await client.post("/items", json={"name": "seed"})).json()

        async def one(number: int) -> None:
            if number % 3 == 0:
                name = f"w-{uuid.uuid4().hex[:12]}"
                response = await client.post("/items", json={"name": name, "quantity": 1})
                if response.status_code == 201:
                    acknowledged.add(name)
            elif number % 3 == 1:
                response = await client.patch(f"/items/{seed['id']}", json={"quantity": number})
            else:
                response = await client.get("/items", params={"page_size": 10})
            statuses[response.status_code] += 1
            answered.add(response.headers["x-request-id"])

        async def sample(done: anyio.Event) -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, await count_other_connections(database_url) or 0)
                await anyio.sleep(0.05)

        done = anyio.Event()
        async with anyio.create_task_group() as sampling:
            sampling.start_soon(sample, done)
            async with anyio.create_task_group() as traffic:
                for number in range(REQUESTS):
                    traffic.start_soon(one, number)
            done.set()

    assert set(statuses) <= {200, 201}, (dict(statuses), log.read_text()[-3000:])
    assert len(acknowledged) == REQUESTS // 3
    assert acknowledged <= await stored_names(database_url)
    assert peak <= WORKERS * POOL_SIZE, f"{peak} server connections for {WORKERS} pools"

    # 2. SIGTERM while writers keep writing; they go on until the server has exited.
    acknowledged.clear()
    outcomes: Counter[str] = Counter()
    stop = anyio.Event()

    async def writer(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            name = f"d-{uuid.uuid4().hex[:12]}"
            try:
                response = await client.post("/items", json={"name": name, "quantity": 1})
            except httpx.HTTPError as error:
                # Refused, or a keep-alive connection the draining server closed: never answered,
                # so never acknowledged.
                outcomes[type(error).__name__] += 1
                await anyio.sleep(0.05)
                continue
            outcomes[str(response.status_code)] += 1
            answered.add(response.headers["x-request-id"])
            if response.status_code == 201:
                acknowledged.add(name)

    limits = httpx.Limits(max_connections=WRITERS, max_keepalive_connections=WRITERS)
    async with (
        httpx.AsyncClient(
            base_url=base_url,
            timeout=GRACE_SECONDS + 5,
            limits=limits,
            headers=access_headers(),
        ) as client,
        anyio.create_task_group() as writers,
    ):
        for _ in range(WRITERS):
            writers.start_soon(writer, client)
        # SIGTERM in the middle of the stream: once writes are being acknowledged.
        while True:
            if len(acknowledged) >= WRITERS:
                break
            await anyio.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        with anyio.fail_after(GRACE_SECONDS + 15):
            while True:
                if process.poll() is not None:
                    break
                await anyio.sleep(0.05)
        stop.set()

    output = log.read_text()
    assert acknowledged <= await stored_names(database_url), "an acknowledged write was lost"
    assert not [outcome for outcome in outcomes if outcome.startswith("5")], (outcomes, output)
    # uvicorn's supervisor exits 0 once its workers have shut down cleanly.
    assert process.returncode in (0, -signal.SIGTERM), output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    # The workers disposed of their engines: nothing is left open on the server.
    with anyio.fail_after(5):
        while True:
            if not await count_other_connections(database_url):
                break
            await anyio.sleep(0.1)

    # 3. Every answered request's server span was exported, from both workers' providers.
    server_spans = [span for span in collector.received() if span.kind is SpanKind.SERVER]
    exported = {span.attributes.get("request_id") for span in server_spans}
    assert answered - exported == set(), "an answered request's span was lost"
    assert len({span.pid for span in server_spans}) == WORKERS, "spans from one worker only"
