"""A real deadlock between an order and another transaction: the database rolls the order's
transaction back, the client gets 503 with `Retry-After` and a body that says what happened,
nothing of the order is kept, and the service is healthy after it.

Orders lock their items in id order, so two orders never deadlock each other
(test_orders.py); another writer that locks the same rows in the other order can still close a
cycle with one. Here the test is that writer: it holds item B, the order takes A and waits for
B, then the test asks for A."""

from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from {{ cookiecutter.project_slug }}.errors import DEADLOCK_DETAIL

from .support.database import execute, held_transaction, open_engine
from .support.dialect import (
    DEADLOCK_CODE,
    DEADLOCK_SURVIVOR_SQL,
    LOCK_DIAGNOSTICS_SQL,
    LOCK_WAITERS_INTERVAL,
    LOCK_WAITERS_SQL,
)
from .support.helpers import assert_ordinary_requests_succeed, create, stored_items
from .support.log_capture import captured
from .support.metric_samples import sample

pytestmark = pytest.mark.anyio

STOCK = 10
# Items the test's transaction changes besides B, so that it is the heavier one (a database
# that picks its victim by weight rolls back the transaction that changed fewer rows).
FILLERS = 5
# Seconds the order may take to start waiting for B's lock: fewer than its lock timeout (10 s),
# so that an order the database did not show as waiting is still there in the failure message.
WAITING_TIMEOUT = 5
# Seconds from the test's request for A to the order's answer: the database finds the cycle at
# once or after a second or so (support/dialect.py says how it picks the order); the order's
# lock timeout is 10 s.
# The server also bounds the test's own lock wait (DEADLOCK_SURVIVOR_SQL): a worker thread
# blocked in it (sync services) is beyond fail_after's reach.
ANSWER_TIMEOUT = 20


def deadlocks() -> float:
    return sample("db_client_rollbacks_total", cause="deadlock")


async def lock_waiters(engine: Any) -> int:
    """The database's transactions that wait for a lock (engine: the test's own)."""
    rows = await execute(engine, LOCK_WAITERS_SQL)
    return int(rows[0][0])


async def lock_diagnostics(engine: Any) -> str:
    """What the database shows of the test database's sessions and locks, one view a line."""
    views = [
        f"{name}: {[tuple(row) for row in await execute(engine, sql)]}"
        for name, sql in LOCK_DIAGNOSTICS_SQL.items()
    ]
    return "\n".join(views)


async def wait_for_a_lock_waiter(engine: Any) -> None:
    # The interval is the dialect's: a view of lock waits may be refreshed only between reads.
    with anyio.move_on_after(WAITING_TIMEOUT):
        while True:
            if await lock_waiters(engine):
                return
            await anyio.sleep(LOCK_WAITERS_INTERVAL)
    # One interval more, so that a view refreshed only between reads is fresh in the message.
    await anyio.sleep(LOCK_WAITERS_INTERVAL)
    # An AssertionError, not pytest.fail: an exception that is no Exception breaks the task group.
    raise AssertionError(
        f"no transaction waited for a lock within {WAITING_TIMEOUT} s; the database shows:\n"
        + await lock_diagnostics(engine)
    )


async def test_the_victim_of_a_deadlock_gets_a_503_that_says_so_and_keeps_nothing(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    a, b = await create(client, "a", STOCK), await create(client, "b", STOCK)
    fillers = [await create(client, f"filler-{number}", STOCK) for number in range(FILLERS)]
    assert a["id"] < b["id"]
    before = deadlocks()
    responses: list[httpx.Response] = []

    async def place_order() -> None:
        # The lines name B first: the service still locks A first, in id order.
        lines = [{"item_id": b["id"], "quantity": 1}, {"item_id": a["id"], "quantity": 1}]
        responses.append(await client.post("/orders", json={"lines": lines}))

    async with (
        open_engine(database_url) as engine,
        captured() as logs,
        held_transaction(engine) as run,
    ):
        for sql in DEADLOCK_SURVIVOR_SQL:
            await run(sql)
        # B and the fillers: locked, and changed (so the test's transaction is heavier), one
        # row at a time: a statement over several rows may scan (and lock) A as well.
        for item in [b, *fillers]:
            await run(f"UPDATE items SET quantity = quantity + 1 WHERE id = {item['id']}")
        with anyio.fail_after(ANSWER_TIMEOUT):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(place_order)
                # The order holds A and waits for B ...
                await wait_for_a_lock_waiter(engine)
                # ... and this closes the cycle: it waits until the order is rolled back.
                await run(f"SELECT id FROM items WHERE id = {a['id']} FOR UPDATE")
    # The test's transaction was rolled back at the end of the block: its changes are gone.

    [response] = responses
    assert response.status_code == 503, response.text
    assert response.json() == {"detail": DEADLOCK_DETAIL}
    assert response.headers["retry-after"]
    assert deadlocks() - before == 1
    assert [
        (line["db.rollback.cause"], line["db.response.status_code"]) for line in logs.rollbacks()
    ] == [("deadlock", DEADLOCK_CODE)]
    # Nothing of the order was kept: no order, no stock taken.
    assert (await execute(app.state.engine, "SELECT count(*) FROM orders"))[0][0] == 0
    assert await stored_items(app) == {item["name"]: STOCK for item in [a, b, *fillers]}
    assert app.state.engine.pool.checkedout() == 0

    # The next requests succeed, the same order included.
    await assert_ordinary_requests_succeed(client)
    lines = [{"item_id": b["id"], "quantity": 1}, {"item_id": a["id"], "quantity": 1}]
    placed = await client.post("/orders", json={"lines": lines})
    assert placed.status_code == 201, placed.text
    stock = await stored_items(app)
    assert (stock["a"], stock["b"]) == (STOCK - 1, STOCK - 1)
    assert app.state.engine.pool.checkedout() == 0
