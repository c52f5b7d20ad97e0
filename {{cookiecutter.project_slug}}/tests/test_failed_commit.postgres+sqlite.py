"""A COMMIT that the database refuses is answered as a failure, never as a success: the unit of
work commits before the response is built."""

import httpx
import pytest
from fastapi import FastAPI

from .support.database import execute
from .support.helpers import create

pytestmark = pytest.mark.anyio


async def test_a_commit_that_fails_is_never_reported_as_success(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    item = await create(client, "bolt")
    # A reservation refers to the item through a foreign key that is checked only at COMMIT,
    # so deleting the item succeeds statement by statement and fails when committed.
    await execute(
        app.state.engine,
        "CREATE TABLE reservations ("
        " item_id INTEGER NOT NULL REFERENCES items (id) DEFERRABLE INITIALLY DEFERRED)",
    )
    try:
        await execute(app.state.engine, f"INSERT INTO reservations VALUES ({item['id']})")

        response = await client.delete(f"/items/{item['id']}")

        assert response.status_code == 409
        assert (await client.get(f"/items/{item['id']}")).status_code == 200
    finally:
        await execute(app.state.engine, "DROP TABLE reservations")
