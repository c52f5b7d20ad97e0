"""The incident this template was made for: `integer out of range` inside the database is a
clean 422, and every later request succeeds.

Before the convention, sessions were handed out without rollback or close, one `integer out of
range` left a failed transaction behind, and every later request that got that session failed
with PendingRollbackError.
"""

import httpx
import pytest

from .support.helpers import assert_ordinary_requests_succeed

# Also behind a transaction pooler, where the database can have one (conftest.py).
pytestmark = [pytest.mark.anyio, pytest.mark.through_poolers]


async def test_integer_out_of_range_is_a_clean_422_and_later_requests_succeed(
    client: httpx.AsyncClient,
) -> None:
    near_the_limit = 2**31 - 10
    created = await client.post("/items", json={"name": "widget", "quantity": near_the_limit})
    assert created.status_code == 201

    # Each value fits the column; their sum does not, so the database itself refuses the UPDATE.
    response = await client.post(
        "/items/adjust-quantity", json={"name_prefix": "wid", "delta": 100}
    )

    assert response.status_code == 422
    assert response.json() == {"detail": "A value is out of range or too long for its column."}
    await assert_ordinary_requests_succeed(client)
    item = await client.get(f"/items/{created.json()['id']}")
    assert item.json()["quantity"] == near_the_limit
