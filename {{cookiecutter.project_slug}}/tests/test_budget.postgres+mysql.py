"""The connection budget: every pool of every worker and replica against the server's limit.

The server's configuration is never changed: the tests read its real limit and choose
workers, pool sizes and replicas on either side of it.
"""

import logging
from pathlib import Path

import anyio
import pytest
from pydantic import ValidationError
from sqlalchemy import make_url

from {{ cookiecutter.project_slug }}.database.budget import (
    JOB_CONNECTIONS,
    ConnectionBudgetError,
    budget_message,
)
from {{ cookiecutter.project_slug }}.settings import Settings

from .support.database_server import execute_on_server
from .support.project import PROJECT_ROOT
from .support.serving import serve
from .support.uvicorn_server import running_uvicorn

pytestmark = pytest.mark.anyio

# Seconds a refused start may take with 2 workers: two interpreters importing the app, on a
# loaded CI machine.
REFUSED_START_TIMEOUT = 60.0


async def server_limit(database_url: str) -> tuple[int, int]:
    """The server's max_connections, and the connections it keeps for others."""
    rows = await execute_on_server(database_url, Settings.connection_limit_query)
    max_connections, reserved = tuple(rows[0])
    return int(max_connections), int(reserved)


async def test_over_budget_start_up_fails_naming_every_number(database_url: str) -> None:
    max_connections, reserved = await server_limit(database_url)
    available = max_connections - reserved
    # 2 workers x (2 + 1) x replicas + (1 relay + 2 event workers) x 1: the fewest replicas
    # that do not fit.
    replicas = (available - 3) // 6 + 1
    settings = Settings(
        database_url=database_url,
        web_concurrency=2,
        pool_size=2,
        max_overflow=1,
        replicas=replicas,
        relay_processes=1,
        worker_processes=2,
    )
    with pytest.raises(ConnectionBudgetError) as raised:
        async with serve(settings):
            pass
    message = str(raised.value)
    assert "\n" not in message
    assert f"= {6 * replicas + 3} connections" in message
    limit = f"allows {available} (max_connections={max_connections} - {reserved} reserved)"
    assert limit in message
    numbers = ("WEB_CONCURRENCY=2", "POOL_SIZE=2", "MAX_OVERFLOW=1", f"REPLICAS={replicas}")
    for number in (*numbers, "RELAY_PROCESSES=1", "WORKER_PROCESSES=2"):
        assert number in message
    assert "CONNECTION_BUDGET=warn" in message


def test_the_budget_counts_every_pool_and_one_connection_per_job_process() -> None:
    settings = Settings(
        pool_size=3, max_overflow=2, replicas=4, relay_processes=2, worker_processes=3
    )
    assert JOB_CONNECTIONS == 1
    # 2 x (3 + 2) x 4 + (2 + 3) x 1 = 45: within 45 available, not within 44.
    assert budget_message(settings, workers=2, max_connections=48, reserved=3) is None
    message = budget_message(settings, workers=2, max_connections=47, reserved=3)
    assert message is not None
    assert (
        "WEB_CONCURRENCY=2 workers x (POOL_SIZE=3 + MAX_OVERFLOW=2) x REPLICAS=4 + "
        "(RELAY_PROCESSES=2 + WORKER_PROCESSES=3) x 1 = 45 connections, but the server allows 44 "
        "(max_connections=47 - 3 reserved)"
    ) in message
    # Without job processes only the pools count.
    alone = settings.model_copy(update={"relay_processes": 0, "worker_processes": 0})
    assert budget_message(alone, workers=2, max_connections=43, reserved=3) is None


async def test_over_budget_two_uvicorn_workers_exit_non_zero_naming_the_budget(
    database_url: str, tmp_path: Path
) -> None:
    # Started as the Dockerfile starts it, with 2 workers whose pools alone exceed the limit:
    # a deploy that cannot work must not look like one that stopped cleanly (status 0).
    max_connections, _ = await server_limit(database_url)
    environment = {
        "DATABASE_URL": database_url,
        "WEB_CONCURRENCY": "2",
        "POOL_SIZE": str(max_connections),
        "CONNECTION_BUDGET": "error",
    }
    with running_uvicorn(
        "--workers",
        "2",
        environment=environment,
        cwd=PROJECT_ROOT,
        log=tmp_path / "uvicorn.log",
        stop_timeout=10,
    ) as uvicorn:
        with anyio.move_on_after(REFUSED_START_TIMEOUT):
            while True:
                if uvicorn.process.poll() is not None:
                    break
                await anyio.sleep(0.1)
        output = uvicorn.log.read_text()
        assert uvicorn.process.returncode is not None, f"still running: {output[-3000:]}"
    assert uvicorn.process.returncode != 0, output[-3000:]
    assert "Connection budget exceeded: WEB_CONCURRENCY=2 workers" in output, output[-3000:]


async def test_exactly_at_budget_the_service_starts_and_serves(database_url: str) -> None:
    max_connections, reserved = await server_limit(database_url)
    # One connection per replica, and one each for the default relay and event worker.
    settings = Settings(
        database_url=database_url,
        web_concurrency=1,
        pool_size=1,
        replicas=max_connections - reserved - 2 * JOB_CONNECTIONS,
    )
    async with serve(settings) as (_, client):
        assert (await client.get("/items")).status_code == 200


async def test_over_budget_with_warn_starts_and_says_why(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    max_connections, _ = await server_limit(database_url)
    settings = Settings(
        database_url=database_url,
        pool_size=1,
        replicas=max_connections + 1,
        connection_budget="warn",
    )
    with caplog.at_level(logging.WARNING):
        async with serve(settings) as (_, client):
            assert (await client.get("/items")).status_code == 200
    assert any("Connection budget exceeded" in r.getMessage() for r in caplog.records)


async def test_an_unreachable_database_does_not_stop_start_up(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = make_url(database_url).set(host="127.0.0.1", port=1)
    settings = Settings(database_url=url.render_as_string(hide_password=False))
    with caplog.at_level(logging.WARNING):
        async with serve(settings):
            pass
    assert any("budget not checked" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("web_concurrency", 0),
        ("replicas", -1),
        ("relay_processes", -1),
        ("worker_processes", -1),
        ("connection_budget", "maybe"),
    ],
)
def test_a_bad_budget_setting_is_refused_naming_it(setting: str, value: object) -> None:
    with pytest.raises(ValidationError, match=setting):
        Settings.model_validate({setting: value})
