"""The lock-wait timeout, which every database has: a write that waits for a row lock past
LOCK_TIMEOUT is rolled back and answered 503, and the service is healthy after it; without the
timeout the same write waits for the lock. (The statement timeout of databases with a server is
tested in test_statement_timeout.py.)"""

import time

import anyio
import httpx
import pytest
from fastapi import FastAPI

from {{ cookiecutter.project_slug }}.errors import TIMEOUT_DETAIL
from {{ cookiecutter.project_slug }}.settings import Settings

from .support.database import uncommitted_write
from .support.dialect import LOCK_TIMEOUT_CODE
from .support.helpers import assert_ordinary_requests_succeed, collect, create
from .support.log_capture import captured
from .support.metric_samples import rollbacks
from .support.serving import serve
from .support.tables import empty_tables

pytestmark = pytest.mark.anyio


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
        # It waited for the lock, and not much past the timeout. Not `1 <=`: a server may count
        # its lock wait from before this test's clock started, with a coarse clock of its own,
        # and a clean clone saw the 503 after 0.73 s of a 1 s timeout under load.
        assert 0.5 <= elapsed < 1 + 1.0, elapsed
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
                collect, responses, client.patch(f"/items/{item['id']}", json={"quantity": 7})
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
