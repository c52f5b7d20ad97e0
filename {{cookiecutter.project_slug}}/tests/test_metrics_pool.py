"""Metrics of the pool and of the database slots: the gauges follow the connections checked out,
and under overload the waiters and timeouts move exactly as the 503s say."""

import anyio
import httpx
import pytest
from fastapi import FastAPI

from {{ cookiecutter.project_slug }}.settings import Settings

from .support.database import connection_checked_out
from .support.helpers import collect, create, gather
from .support.metric_samples import sample
from .support.serving import serve
from .support.tables import empty_tables

pytestmark = pytest.mark.anyio


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
                tasks.start_soon(collect, responses, client.get(f"/items/{item['id']}"))
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
