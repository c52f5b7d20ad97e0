"""Lost connections: the server kills the service's connections, or goes away and comes back;
the service replaces what it lost and answers 503, never a 500, while the database is gone."""

import time

import httpx
import pytest
from fastapi import FastAPI

from {{ cookiecutter.project_slug }}.settings import Settings

from .support.dialect import kill_other_connections
from .support.helpers import gather
from .support.metric_samples import sample
from .support.serving import serve
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
