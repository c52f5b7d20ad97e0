"""The statement timeout: a unit of work whose statement runs past `statement_timeout` is
stopped by the server, rolled back and answered 503, and the service is healthy after it.
(The lock-wait timeout, which every database has, is tested in test_lock_timeout.py.)"""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from {{ cookiecutter.project_slug }}.errors import TIMEOUT_DETAIL
from {{ cookiecutter.project_slug }}.settings import Settings

from .support.database import add_slow_route
from .support.dialect import SLEEP_SQL, STATEMENT_TIMEOUT_CODES
from .support.helpers import assert_ordinary_requests_succeed
from .support.log_capture import captured
from .support.metric_samples import sample
from .support.serving import serve
from .support.tables import empty_tables

pytestmark = pytest.mark.anyio

SLOW_SECONDS = 2


def timeouts() -> float:
    return sample("db_client_rollbacks_total", cause="timeout")


@asynccontextmanager
async def slow_route_served(
    database_url: str, statement_timeout: float
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with a unit of work that runs one slow statement and commits, written as the
    service writes them (the session from get_session, commit before the response)."""
    settings = Settings(
        database_url=database_url, statement_timeout=statement_timeout, lock_timeout=10
    )
    async with serve(settings) as (app, client):
        await empty_tables(app)
        add_slow_route(app, "/slow", SLEEP_SQL.format(seconds=SLOW_SECONDS))
        yield app, client


async def test_a_statement_past_the_statement_timeout_gets_a_503(database_url: str) -> None:
    async with slow_route_served(database_url, statement_timeout=0.5) as (app, client):
        async with captured() as capture:
            before = timeouts()
            started = time.monotonic()
            response = await client.post("/slow")
            elapsed = time.monotonic() - started

        assert response.status_code == 503, response.text
        assert response.json() == {"detail": TIMEOUT_DETAIL}
        assert response.headers["retry-after"]
        assert 0.5 <= elapsed < 0.5 + 1.0, elapsed
        assert timeouts() - before == 1
        codes = [
            (line["db.rollback.cause"], line["db.response.status_code"])
            for line in capture.rollbacks()
        ]
        assert len(codes) == 1
        assert codes[0][0] == "timeout"
        assert codes[0][1] in STATEMENT_TIMEOUT_CODES
        await assert_ordinary_requests_succeed(client)
        assert app.state.engine.pool.checkedout() == 0


async def test_without_a_statement_timeout_the_slow_statement_runs_to_its_end(
    database_url: str,
) -> None:
    """Negative control of the test above: the 503 comes from statement_timeout."""
    async with slow_route_served(database_url, statement_timeout=0) as (_, client):
        started = time.monotonic()
        response = await client.post("/slow")

    assert response.status_code == 200, response.text
    assert time.monotonic() - started >= SLOW_SECONDS
