"""Metrics of several worker processes: two uvicorn workers in prometheus-client's multiprocess
mode add up in one scrape, and every line they log, uvicorn's included, is JSON."""

import json
import re
import time
import uuid
from pathlib import Path

import httpx
from prometheus_client.multiprocess import MultiProcessCollector

from {{ cookiecutter.project_slug }}.logs import logging_config
from {{ cookiecutter.project_slug }}.settings import Settings

from .support.identity_provider import access_headers
from .support.uvicorn_server import running_uvicorn

# Requests sent to the two workers.
WORKER_REQUESTS = 20
# Seconds for two interpreters to import the app, on a loaded CI machine (12 suites on 2 cores).
WORKERS_START_TIMEOUT = 240


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
        supervisor = metrics_dir / f"histogram_{server.process.pid}.db"

        def worker_counts() -> list[float]:
            assert not supervisor.exists() or route_count(supervisor) == 0
            files = [path for path in metrics_dir.glob("histogram_*.db") if path != supervisor]
            return [route_count(path) for path in files]

        time.sleep(1)  # the second worker's lifespan, after its imports
        run = uuid.uuid4().hex[:8]
        sent = 0
        per_worker: list[float] = []
        # Until both workers have served some (at least WORKER_REQUESTS, at most ten times as
        # many): one at a time, each on a new connection, so that both idle workers race to
        # accept it (a burst is drained by whichever worker wakes first).
        while sent < WORKER_REQUESTS or len(per_worker) < 2 or not all(per_worker):
            assert sent < 10 * WORKER_REQUESTS, per_worker
            with httpx.Client(base_url=base, headers=access_headers()) as one_off:
                created = one_off.post("/items", json={"name": f"mp-{run}-{sent}"})
            assert created.status_code == 201, created.text
            sent += 1
            time.sleep(0.02)
            per_worker = worker_counts()
            # Only the two workers write figures: the supervisor, which ran the start-up checks
            # (`serve`), counted nothing.
            assert len(per_worker) <= 2, per_worker
        # A worker counts a request after its last byte is sent, so the client can be quicker
        # than the count on a busy machine: wait for it (briefly), then it must be exact.
        deadline = time.monotonic() + 5
        while sum(per_worker) < sent and time.monotonic() < deadline:
            time.sleep(0.05)
            per_worker = worker_counts()
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
