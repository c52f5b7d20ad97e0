"""Request ids, JSON logs, Prometheus metrics with exact values, the lock-wait timeout and the
readiness probe, against the real database."""

import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from prometheus_client.multiprocess import MultiProcessCollector

from {{ cookiecutter.project_slug }} import metrics
from {{ cookiecutter.project_slug }}.errors import TIMEOUT_DETAIL
from {{ cookiecutter.project_slug }}.logs import JsonFormatter, configure_logging, logging_config
from {{ cookiecutter.project_slug }}.settings import Settings

from .support.database import connection_checked_out, uncommitted_write
from .support.dialect import INCIDENT_ROLLBACK, LOCK_TIMEOUT_CODE
from .support.helpers import (
    ORDINARY_REQUESTS_AFTER_A_FAILURE,
    assert_ordinary_requests_succeed,
    create,
    gather,
)
from .support.serving import serve
from .support.tables import empty_tables
from .support.uvicorn_server import running_uvicorn

pytestmark = pytest.mark.anyio

INTEGER_MAX = 2**31 - 1
ROLLBACK_CAUSES = metrics.ROLLBACK_CAUSES
GENERATED_ID = re.compile(r"[0-9a-f]{32}")
# Requests sent to the two workers of the multiprocess test.
WORKER_REQUESTS = 20
# Seconds for two interpreters to import the app, on a loaded CI machine (12 suites on 2 cores).
WORKERS_START_TIMEOUT = 240


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def rollbacks() -> dict[str, float]:
    return {cause: sample("db_client_rollbacks_total", cause=cause) for cause in ROLLBACK_CAUSES}


def commits() -> float:
    return sample("db_client_commits_total")


class Capture(logging.Handler):
    """Every log record of the process, formatted as the service formats it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    def rollbacks(self) -> list[dict[str, Any]]:
        return [entry for entry in self.entries() if entry.get("event.name") == "db.rollback"]


@asynccontextmanager
async def captured() -> AsyncIterator[Capture]:
    """The log records of the block, as the service formats them."""
    capture = Capture()
    logging.getLogger().addHandler(capture)
    try:
        yield capture
    finally:
        logging.getLogger().removeHandler(capture)


@pytest.fixture
def logs(served: Any) -> Iterator[Capture]:
    """Every record the service logs with LOG_LEVEL=DEBUG, and SQLAlchemy's statements as
    `echo=True` logs them (with their parameters, which hide_parameters must hide)."""
    configure_logging(Settings(log_level="DEBUG"))
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    capture = Capture()
    logging.getLogger().addHandler(capture)
    try:
        yield capture
    finally:
        logging.getLogger().removeHandler(capture)
        configure_logging(Settings())


async def incident(client: httpx.AsyncClient) -> httpx.Response:
    """The incident's failing unit of work: a write the database refuses (out of range, or
    a CHECK where integers cannot overflow), after an item that it will refuse for was made."""
    cause, _ = INCIDENT_ROLLBACK
    await create(client, "bolt", quantity=10 if cause == "integrity" else INTEGER_MAX - 10)
    return await client.post(
        "/items/adjust-quantity",
        json={"name_prefix": "bolt", "delta": -100 if cause == "integrity" else 100},
        headers={"X-Request-ID": "incident-1"},
    )


# --- request id ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("3f2b1c4d-aaaa-4bbb-8ccc-0123456789ab", True),
        ("01HZX3K8Q9V7W6T5S4R3P2N1M0", True),
        ("Root=1-5759e988-bd862e3fe1be46a994272793", False),  # '=' is not in the charset
        ("a" * 65, False),
        ("two words", False),
        ("", False),
    ],
)
async def test_request_id_is_taken_when_sane_and_generated_otherwise(
    client: httpx.AsyncClient, sent: str, kept: bool
) -> None:
    response = await client.get("/health", headers={"X-Request-ID": sent})

    if kept:
        assert response.headers["x-request-id"] == sent
    else:
        assert GENERATED_ID.fullmatch(response.headers["x-request-id"])


async def test_every_response_carries_a_request_id_errors_included(database_url: str) -> None:
    settings = Settings(database_url=database_url, pool_size=1, capacity_timeout=0.2)
    async with serve(settings) as (app, client):

        async def broken() -> None:
            raise RuntimeError("a bug")

        app.router.add_api_route("/broken", broken)
        await empty_tables(app)
        item = await create(client, "bolt")
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as raw:
            responses = {
                404: await raw.get("/items/987654"),
                409: await raw.post("/items", json={"name": "bolt"}),
                422: await raw.get("/items/abc"),
                500: await raw.get("/broken"),
            }
            await app.state.database_slots.acquire()  # the only slot: the next request waits
            try:
                responses[503] = await raw.get(f"/items/{item['id']}")
            finally:
                app.state.database_slots.release()

    for status_code, response in responses.items():
        assert response.status_code == status_code
        assert GENERATED_ID.fullmatch(response.headers["x-request-id"]), status_code
    assert responses[503].headers["retry-after"]


# --- logs ---------------------------------------------------------------------------------


async def test_one_json_line_per_request_with_route_template_status_and_duration(
    client: httpx.AsyncClient, logs: Capture
) -> None:
    item = await create(client, "bolt")
    logs.lines.clear()

    await client.get(f"/items/{item['id']}", headers={"X-Request-ID": "req-1"})

    lines = [entry for entry in logs.entries() if "http.route" in entry]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "req-1"
    assert line["http.request.method"] == "GET"
    assert line["http.route"] == "/items/{item_id}"
    assert line["http.response.status_code"] == 200
    assert 0 < line["http.server.request.duration"] < 5


async def test_a_rollback_is_one_line_with_its_cause_and_the_database_error_code(
    client: httpx.AsyncClient, logs: Capture
) -> None:
    cause, code = INCIDENT_ROLLBACK
    await create(client, "nut")
    logs.lines.clear()

    response = await incident(client)

    assert response.status_code in (409, 422)
    rollback_lines = logs.rollbacks()
    assert len(rollback_lines) == 1
    line = rollback_lines[0]
    assert line["request_id"] == "incident-1"
    assert line["db.rollback.cause"] == cause
    assert line["db.response.status_code"] == code
    assert line["error.type"].startswith("sqlalchemy.exc.")
    # Every line the service logged while the request ran carries its request id (httpx's
    # lines come from the test's client, after the responses).
    incident_lines = [entry for entry in logs.entries() if entry["log.logger"] != "httpx"]
    request_ids = {entry.get("request_id") for entry in incident_lines}
    assert "incident-1" in request_ids
    assert None not in request_ids


async def test_no_log_line_ever_holds_a_value_the_client_sent(
    client: httpx.AsyncClient, logs: Capture
) -> None:
    secret = f"sk_live_{uuid.uuid4().hex}"
    # Negative control: the capture does see a value that is logged.
    logging.getLogger("control").info("control %s", secret)
    assert any(secret in line for line in logs.lines)
    logs.lines.clear()

    # Stored once (its INSERT's parameters are logged by SQLAlchemy, hidden) ...
    created = await create(client, secret, quantity=INTEGER_MAX - 1)
    other = await create(client, "other")
    # ... then refused by the database three ways: duplicate on INSERT and on UPDATE (drivers
    # quote the value in the message), and an out-of-range (or CHECK) update.
    assert (await client.post("/items", json={"name": secret})).status_code == 409
    assert (await client.patch(f"/items/{other['id']}", json={"name": secret})).status_code == 409
    delta = -INTEGER_MAX if INCIDENT_ROLLBACK[0] == "integrity" else 10
    adjust = await client.post(
        "/items/adjust-quantity", json={"name_prefix": secret, "delta": delta}
    )
    assert adjust.status_code in (409, 422)
    assert (await client.get(f"/items/{created['id']}")).status_code == 200

    assert len(logs.lines) > 10  # SQLAlchemy's statements are in the capture
    leaks = [line for line in logs.lines if secret in line or secret[8:] in line]
    assert leaks == []


# --- metrics ------------------------------------------------------------------------------


async def test_incident_scenario_counts_exactly_one_rollback_and_twenty_commits(
    client: httpx.AsyncClient,
) -> None:
    cause, _ = INCIDENT_ROLLBACK
    status_code = "409" if cause == "integrity" else "422"
    adjusted = {
        "http_request_method": "POST",
        "http_route": "/items/adjust-quantity",
        "http_response_status_code": status_code,
    }
    await create(client, "nut")
    rollbacks_before, commits_before = rollbacks(), commits() + 1  # + incident()'s create
    requests_before = sample("http_server_request_duration_seconds_count", **adjusted)

    response = await incident(client)
    assert str(response.status_code) == status_code
    await assert_ordinary_requests_succeed(client)

    rollbacks_after = rollbacks()
    assert {c: rollbacks_after[c] - rollbacks_before[c] for c in ROLLBACK_CAUSES} == {
        c: (1 if c == cause else 0) for c in ROLLBACK_CAUSES
    }
    assert commits() - commits_before == ORDINARY_REQUESTS_AFTER_A_FAILURE
    assert sample("http_server_request_duration_seconds_count", **adjusted) == requests_before + 1


async def test_rollback_causes_of_client_errors_and_conflicts(
    client: httpx.AsyncClient,
) -> None:
    await create(client, "bolt")
    before = rollbacks()

    assert (await client.post("/items", json={"name": "bolt"})).status_code == 409
    # A 404 after the unit of work read from the database: a rollback caused by the client.
    assert (await client.patch("/items/987654", json={"quantity": 1})).status_code == 404
    # Refused before any statement: nothing to roll back, nothing counted.
    assert (await client.post("/items", json={"name": ""})).status_code == 422

    after = rollbacks()
    assert {c: after[c] - before[c] for c in ROLLBACK_CAUSES} == {
        c: (1 if c in ("integrity", "client_error") else 0) for c in ROLLBACK_CAUSES
    }


async def test_metrics_endpoint_serves_prometheus_text(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    for name in (
        "db_client_connection_count",
        "db_client_connection_max",
        "db_client_connection_pending_requests",
        "db_client_connection_wait_time_seconds_bucket",
        "db_client_connection_timeouts_total",
        "db_client_connections_invalidated_total",
        "db_client_connections_replaced_total",
        "db_client_commits_total",
        'db_client_rollbacks_total{cause="data_error"}',
        "http_server_request_duration_seconds_bucket",
    ):
        assert name in response.text


async def test_metrics_can_be_turned_off(database_url: str) -> None:
    settings = Settings(database_url=database_url, metrics_enabled=False)
    async with serve(settings) as (_, client):
        before = commits(), sample("db_client_connection_max")
        assert (await client.get("/metrics")).status_code == 404
        await create(client, f"off-{uuid.uuid4().hex}")
        assert (commits(), sample("db_client_connection_max")) == before


async def test_pool_gauges_follow_the_pool(client: httpx.AsyncClient, app: FastAPI) -> None:
    used = sample("db_client_connection_count", state="used")
    async with connection_checked_out(app.state.engine), connection_checked_out(app.state.engine):
        assert sample("db_client_connection_count", state="used") - used == 2
        assert app.state.engine.pool.checkedout() == 2
    assert sample("db_client_connection_count", state="used") == used
    assert sample("db_client_connection_max") >= app.state.settings.pool_capacity


async def test_waiters_and_timeouts_move_as_the_503s_say(database_url: str) -> None:
    settings = Settings(database_url=database_url, pool_size=1, capacity_timeout=1)
    async with serve(settings) as (app, client):
        await empty_tables(app)
        item = await create(client, "bolt")
        timeouts = sample("db_client_connection_timeouts_total")
        waits = sample("db_client_connection_wait_time_seconds_count")
        pending = sample("db_client_connection_pending_requests")

        slots: anyio.Semaphore = app.state.database_slots
        await slots.acquire()  # a request that holds the only slot
        responses: list[httpx.Response] = []
        async with anyio.create_task_group() as tasks:
            for _ in range(5):
                tasks.start_soon(_append, responses, client.get(f"/items/{item['id']}"))
            await anyio.sleep(0.1)
            assert sample("db_client_connection_pending_requests") - pending == 5
            ready = await client.get("/health/ready")
            assert ready.json()["pool"]["waiting"] == 5
        slots.release()

        assert [r.status_code for r in responses] == [503] * 5
        assert all(r.headers["retry-after"] for r in responses)
        assert sample("db_client_connection_timeouts_total") - timeouts == 5
        assert sample("db_client_connection_pending_requests") == pending
        assert sample("db_client_connection_wait_time_seconds_count") - waits == 5
        # Real overload: 60 requests on 1 connection; every 503 is a counted timeout.
        timeouts = sample("db_client_connection_timeouts_total")
        overload = await gather(
            *(
                client.post("/items", json={"name": f"load-{number}"})
                if number % 2
                else client.get(f"/items/{item['id']}")
                for number in range(60)
            )
        )
        statuses = [r.status_code for r in overload]
        assert set(statuses) <= {200, 201, 503}
        assert statuses.count(503) == sample("db_client_connection_timeouts_total") - timeouts
        assert sample("db_client_connection_pending_requests") == pending


async def _append(responses: list[httpx.Response], request: Any) -> None:
    responses.append(await request)


# --- the lock-wait timeout ----------------------------------------------------------------


async def test_a_write_waiting_for_a_row_lock_gets_a_503_within_the_lock_timeout(
    database_url: str,
) -> None:
    # 1 s: some databases count their lock wait timeout in whole seconds.
    settings = Settings(database_url=database_url, pool_size=2, lock_timeout=1)
    async with serve(settings) as (app, client), captured() as logs:
        await empty_tables(app)
        item = await create(client, "bolt")
        before = rollbacks()

        async with uncommitted_write(
            app.state.engine, f"UPDATE items SET quantity = 5 WHERE id = {item['id']}"
        ):
            started = time.monotonic()
            response = await client.patch(f"/items/{item['id']}", json={"quantity": 7})
            elapsed = time.monotonic() - started

        assert response.status_code == 503, response.text
        assert response.json() == {"detail": TIMEOUT_DETAIL}
        assert response.headers["retry-after"]
        assert 1 <= elapsed < 1 + 1.0, elapsed
        assert rollbacks()["timeout"] - before["timeout"] == 1
        assert [
            (line["db.rollback.cause"], line["db.response.status_code"][: len(LOCK_TIMEOUT_CODE)])
            for line in logs.rollbacks()
        ] == [("timeout", LOCK_TIMEOUT_CODE)]
        await assert_healthy_after(app, client, item["id"])


async def test_without_a_lock_timeout_the_same_write_waits_for_the_lock(
    database_url: str,
) -> None:
    """Negative control of the test above: the 503 comes from lock_timeout, nothing else."""
    settings = Settings(database_url=database_url, pool_size=2, lock_timeout=30)
    async with serve(settings) as (app, client):
        await empty_tables(app)
        item = await create(client, "bolt")
        responses: list[httpx.Response] = []
        lock = f"UPDATE items SET quantity = 5 WHERE id = {item['id']}"
        async with anyio.create_task_group() as tasks, uncommitted_write(app.state.engine, lock):
            tasks.start_soon(
                _append, responses, client.patch(f"/items/{item['id']}", json={"quantity": 7})
            )
            await anyio.sleep(1.5)  # past the other test's lock_timeout and its margin
            assert responses == []
        assert [r.status_code for r in responses] == [200]


async def assert_healthy_after(app: FastAPI, client: httpx.AsyncClient, item_id: int) -> None:
    """The connection that timed out is healthy: the next requests all succeed, and no
    connection is left checked out."""
    await assert_ordinary_requests_succeed(client)
    assert (await client.get(f"/items/{item_id}")).status_code == 200
    assert app.state.engine.pool.checkedout() == 0


# --- readiness ----------------------------------------------------------------------------


async def test_ready_takes_no_slot_and_no_pool_connection(database_url: str) -> None:
    settings = Settings(database_url=database_url, pool_size=1, ready_timeout=1)
    async with serve(settings) as (app, client):
        slots: anyio.Semaphore = app.state.database_slots
        await slots.acquire()
        try:
            async with connection_checked_out(app.state.engine):
                started = time.monotonic()
                response = await client.get("/health/ready")
                assert time.monotonic() - started < 1
        finally:
            slots.release()

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "pool": {"size": 1, "checked_out": 1, "overflow": 0, "capacity": 1, "waiting": 0},
    }


# --- several worker processes -------------------------------------------------------------


def route_count(path: Path) -> float:
    """POST /items requests counted in one worker's histogram file."""
    merged = MultiProcessCollector.merge([str(path)], accumulate=True)  # type: ignore[no-untyped-call]
    return float(
        sum(
            one.value
            for metric in merged
            for one in metric.samples
            if one.name == "http_server_request_duration_seconds_count"
            and one.labels.get("http_route") == "/items"
        )
    )


def scraped_value(scraped: str, pattern: str) -> float:
    found = re.search(pattern, scraped, re.MULTILINE)
    assert found is not None, scraped
    return float(found.group(1))


def test_two_workers_add_up_in_multiprocess_mode(database_url: str, tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    log_config = tmp_path / "logging.json"
    # What `python -m <package>.logs` prints, as the README says to make it.
    log_config.write_text(json.dumps(logging_config(Settings())))
    environment = {
        "DATABASE_URL": database_url,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "LOG_CONFIGURE": "false",
        "WEB_CONCURRENCY": "2",
    }
    with running_uvicorn(
        *("--workers", "2", "--log-config", str(log_config)),
        # Imports can take more than the default 5 s on a loaded machine: the supervisor would
        # kill and restart the worker.
        *("--timeout-worker-healthcheck", str(WORKERS_START_TIMEOUT)),
        environment=environment,
        cwd=tmp_path,
        log=tmp_path / "server.log",
        stop_timeout=30,
    ) as server:
        base = server.base_url

        def both_workers_started() -> bool:
            return server.answers("/health") and bool(
                list(metrics_dir.glob("gauge_livesum_*.db"))[1:]
            )

        server.wait_until(both_workers_started, WORKERS_START_TIMEOUT, pause=0.2)
        time.sleep(1)  # the second worker's lifespan, after its imports
        run = uuid.uuid4().hex[:8]
        sent = 0
        per_worker: list[float] = []
        # Until both workers have served some (at least WORKER_REQUESTS, at most ten times as
        # many): one at a time, each on a new connection, so that both idle workers race to
        # accept it (a burst is drained by whichever worker wakes first).
        while sent < WORKER_REQUESTS or len(per_worker) < 2 or not all(per_worker):
            assert sent < 10 * WORKER_REQUESTS, per_worker
            with httpx.Client(base_url=base) as one_off:
                created = one_off.post("/items", json={"name": f"mp-{run}-{sent}"})
            assert created.status_code == 201, created.text
            sent += 1
            time.sleep(0.02)
            per_worker = [route_count(path) for path in metrics_dir.glob("histogram_*.db")]
            # Only the two workers write figures (the supervisor imports the log formatter alone).
            assert len(per_worker) <= 2, per_worker
        assert sum(per_worker) == sent

        scraped = httpx.get(f"{base}/metrics").text
        posts = (
            r'^http_server_request_duration_seconds_count\{http_request_method="POST",'
            r'http_response_status_code="201",http_route="/items"\} (\S+)$'
        )
        assert scraped_value(scraped, posts) == sent
        assert scraped_value(scraped, r"^db_client_commits_total (\S+)$") == sent
        assert scraped_value(scraped, r"^db_client_connection_max (\S+)$") == 2 * 10
    lines = [line for line in server.log.read_text().splitlines() if line.strip()]
    assert lines
    for line in lines:
        entry = json.loads(line)  # every line, uvicorn's included, is JSON
        assert "log.level" in entry
