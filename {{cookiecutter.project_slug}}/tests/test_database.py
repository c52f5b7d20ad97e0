"""The database behaves as the service relies on, and its failures reach clients as clean errors."""

import gc

import anyio
import httpx
import pytest
from fastapi import FastAPI

from {{ cookiecutter.project_slug }}.settings import Settings

from .support.database import connection_checked_out, execute, uncommitted_write
from .support.serving import serve

pytestmark = pytest.mark.anyio

UNREACHABLE_DATABASE_URL = "{{ cookiecutter.__unreachable_database_url }}"


async def test_savepoints_roll_back_only_their_own_work(app: FastAPI) -> None:
    rows = await execute(
        app.state.engine,
        "INSERT INTO items (name, quantity) VALUES ('kept', 1)",
        "SAVEPOINT before_second",
        "INSERT INTO items (name, quantity) VALUES ('undone', 2)",
        "ROLLBACK TO SAVEPOINT before_second",
        "SELECT name FROM items ORDER BY name",
    )

    assert [row.name for row in rows] == ["kept"]


async def test_reads_do_not_wait_for_an_uncommitted_write(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    item = (await client.post("/items", json={"name": "gear", "quantity": 1})).json()
    update = f"UPDATE items SET quantity = 7 WHERE id = {item['id']}"

    # The writer holds its locks until it rolls back; reads that queued for them would still be
    # waiting when the deadline passes.
    async with uncommitted_write(app.state.engine, update):
        with anyio.fail_after(5):
            one = await client.get(f"/items/{item['id']}")
            page = await client.get("/items")

    assert one.json()["quantity"] == 1
    assert page.status_code == 200


async def test_an_exhausted_pool_is_a_503_after_the_pool_timeout(database_url: str) -> None:
    settings = Settings(database_url=database_url, pool_size=1, pool_timeout=0.2)
    async with serve(settings) as (app, client):
        # Something other than a request holds the only connection, so the request's
        # checkout waits pool_timeout and gives up.
        async with connection_checked_out(app.state.engine):
            response = await client.get("/items")

        assert response.status_code == 503
        assert response.headers["retry-after"]
        assert "unavailable" in response.json()["detail"]
        assert (await client.get("/items")).status_code == 200


async def test_an_unreachable_database_is_a_503_not_a_500() -> None:
    async with serve(Settings(database_url=UNREACHABLE_DATABASE_URL)) as (_, client):
        items = await client.get("/items")
        ready = await client.get("/health/ready")
        alive = await client.get("/health")
    # A failed connection may still be finishing in a driver's worker thread; let it finish
    # while this test's event loop runs, instead of reporting into a closed loop later.
    gc.collect()
    await anyio.sleep(0.1)

    assert items.status_code == 503
    assert set(items.json()) == {"detail"}
    assert ready.status_code == 503
    assert alive.status_code == 200


async def test_an_unexpected_error_is_a_json_500_without_a_traceback(database_url: str) -> None:
    async with serve(Settings(database_url=database_url)) as (app, _):

        @app.get("/boom")
        async def boom() -> None:
            raise RuntimeError("secret detail")

        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/boom")

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}


async def test_readiness_says_ready_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"
