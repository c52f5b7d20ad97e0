"""Lost connections: the server kills the service's connections, or goes away and comes back;
the service replaces what it lost and answers 503, never a 500, while the database is gone."""

import time
from collections.abc import Awaitable, Callable

import anyio
import httpx
import pytest
from fastapi import FastAPI

from {{ cookiecutter.project_slug }}.inbox.registry import HANDLERS
from {{ cookiecutter.project_slug }}.inbox.worker import work
from {{ cookiecutter.project_slug }}.messaging.messages import dead_letter_name
from {{ cookiecutter.project_slug }}.orders.events import PLACED
from {{ cookiecutter.project_slug }}.settings import Settings

from .support.amqp import queue_size, remove_topology
from .support.database import execute
from .support.dialect import kill_other_connections
from .support.helpers import create, gather
from .support.jobs import in_background, relay_pass
from .support.metric_samples import sample
from .support.queues import broker_names
from .support.serving import serve
from .support.tables import empty_tables
from .support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.anyio


async def test_connections_killed_by_the_server_are_replaced(
    client: httpx.AsyncClient, database_url: str
) -> None:
    # Fill the pool with open connections, then have the server kill every one of them.
    await gather(*(client.get("/items") for _ in range(20)))
    assert await kill_other_connections(database_url) > 0

    statuses = [(await client.get("/items")).status_code for _ in range(20)]

    assert statuses == [200] * 20


async def test_connections_killed_by_the_server_are_counted_as_replaced(
    client: httpx.AsyncClient, app: FastAPI, database_url: str
) -> None:
    await gather(*(client.get("/items") for _ in range(20)))
    used = sample("db_client_connection_count", state="used")
    replaced = sample("db_client_connections_replaced_total")
    invalidated = sample("db_client_connections_invalidated_total")
    killed = await kill_other_connections(database_url)
    assert killed > 0

    # One at a time: the pool hands out its connections in turn, so every killed one is met.
    statuses = [(await client.get("/items")).status_code for _ in range(20)]

    assert statuses == [200] * 20
    assert sample("db_client_connections_replaced_total") - replaced == killed
    assert sample("db_client_connections_invalidated_total") - invalidated == killed
    assert sample("db_client_connection_count", state="used") == used
    assert app.state.engine.pool.checkedout() == 0


async def test_a_database_that_goes_away_and_comes_back(database_url: str) -> None:
    async with TcpProxy(database_url) as proxy:
        settings = Settings(database_url=proxy.url, ready_timeout=1)
        async with serve(settings) as (_, client):
            assert (await client.get("/items")).status_code == 200

            proxy.refuse()
            down = await client.get("/items")
            assert down.status_code == 503

            # A server that accepts connections and never answers must not hang the probe.
            proxy.hang()
            started = time.monotonic()
            ready = await client.get("/health/ready")
            assert ready.status_code == 503
            assert time.monotonic() - started < 2

            proxy.forward()
            statuses = [(await client.get("/items")).status_code for _ in range(5)]
            assert statuses == [200] * 5
            assert (await client.get("/health/ready")).status_code == 200


async def test_a_worker_whose_database_goes_away_returns_the_event_and_handles_it_later(
    database_url: str,
) -> None:
    """The database away is not the event's failure: the worker gives the event back to the
    queue without spending an attempt (WORKER_MAX_ATTEMPTS=2 here), and handles it once the
    database is back, instead of dead-lettering every event of the outage."""
    async with TcpProxy(database_url) as proxy:
        settings = Settings(database_url=proxy.url).model_copy(
            update={**broker_names(), "worker_max_attempts": 2, "broker_reconnect_interval": 0.05}
        )
        try:
            async with serve(settings) as (app, client):
                await empty_tables(app)
                item = await create(client, "bolt", quantity=5)
                line = {"item_id": item["id"], "quantity": 2}
                assert (await client.post("/orders", json={"lines": [line]})).status_code == 201
                assert await relay_pass(app.state.session_factory, settings) == 1
                requeued = sample("events_handled_total", kind=PLACED, outcome="requeued")

                proxy.refuse()
                factory = app.state.session_factory
                async with in_background(work, factory, settings, handlers=HANDLERS):
                    await until(lambda: _true(sample_requeued() >= requeued + 3))
                    dead = dead_letter_name(settings.events_queue)
                    assert await queue_size(settings, dead) == 0
                    proxy.forward()
                    await until(lambda: _rows(app, "SELECT sold FROM item_sales"))
                sold = await execute(app.state.engine, "SELECT item_id, sold FROM item_sales")
                assert [tuple(row) for row in sold] == [(item["id"], 2)]
        finally:
            await remove_topology(settings)


def sample_requeued() -> float:
    return sample("events_handled_total", kind=PLACED, outcome="requeued")


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    with anyio.fail_after(30):
        while True:
            if await check():
                return
            await anyio.sleep(0.05)


async def _true(value: bool) -> bool:
    return value


async def _rows(app: FastAPI, sql: str) -> bool:
    return bool(await execute(app.state.engine, sql))
