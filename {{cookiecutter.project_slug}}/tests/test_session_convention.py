"""The session convention: a request that fails inside the database leaves nothing behind.

The incident this guards against: sessions were handed out without rollback or close, one
`integer out of range` left a failed transaction behind, and every later request that got that
session failed with PendingRollbackError.
"""

import httpx
import pytest
from fastapi import FastAPI

from .database import execute
from .helpers import assert_ordinary_requests_succeed

pytestmark = pytest.mark.anyio


async def test_constraint_violation_is_a_clean_409_and_later_requests_succeed(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/items", json={"name": "bolt"})
    nut = (await client.post("/items", json={"name": "nut"})).json()

    # The rename passes validation and fails in the database, on the unique constraint.
    response = await client.patch(f"/items/{nut['id']}", json={"name": "bolt"})

    assert response.status_code == 409
    assert set(response.json()) == {"detail"}
    await assert_ordinary_requests_succeed(client)


async def test_http_exception_after_a_flush_rolls_the_flushed_change_back(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    source = (await client.post("/items", json={"name": "bolt", "quantity": 10})).json()

    # The transfer writes the decrement, then finds no target and raises a 404 HTTPException.
    response = await client.post(
        f"/items/{source['id']}/transfer", json={"to_item_id": 999999, "quantity": 4}
    )

    assert response.status_code == 404
    rows = await execute(app.state.engine, "SELECT quantity FROM items WHERE name = 'bolt'")
    assert [row.quantity for row in rows] == [10]
