"""Concurrent requests: writers, readers and failing requests at once; every acknowledged effect
is stored, and nothing else."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from .support.helpers import create, gather, stored_items

# Also behind a transaction pooler, where the database can have one (conftest.py).
pytestmark = [pytest.mark.anyio, pytest.mark.through_poolers]


async def test_concurrent_writers_and_readers_all_succeed_and_every_write_is_kept(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    items = [await create(client, f"stock-{number}", 100) for number in range(4)]
    # Transfers read, then write. Two that both read before either writes would deadlock over
    # the rows or the write lock, and one would fail: the service must make them queue instead.
    writers = [
        client.post(
            f"/items/{items[number % 4]['id']}/transfer",
            json={"to_item_id": items[(number + 1) % 4]["id"], "quantity": 1},
        )
        for number in range(20)
    ]
    creators = [client.post("/items", json={"name": f"new-{number}"}) for number in range(20)]
    readers = [client.get("/items") for _ in range(20)]

    responses = await gather(*writers, *creators, *readers)

    assert [response.status_code for response in responses] == [200] * 20 + [201] * 20 + [200] * 20
    stored = await stored_items(app)
    assert sum(stored[f"stock-{number}"] for number in range(4)) == 400
    assert all(f"new-{number}" in stored for number in range(20))


async def test_a_mixed_concurrent_workload_leaves_exactly_the_acknowledged_effects(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    existing = [await create(client, f"item-{number}", number) for number in range(30)]
    expected = {item["name"]: item["quantity"] for item in existing}
    operations: list[tuple[str, Any]] = []
    for number, item in enumerate(existing):
        if number % 3 == 0:
            operations.append(("delete", item))
        elif number % 3 == 1:
            operations.append(("set-quantity", item))
        else:  # deliberately failing: renames onto a name that is taken
            operations.append(("rename-onto-taken", item))
    new_names = [f"new-{number}" for number in range(20)] + [f"item-{n}" for n in range(10)]

    requests = []
    for kind, item in operations:
        if kind == "delete":
            requests.append(client.delete(f"/items/{item['id']}"))
        elif kind == "set-quantity":
            requests.append(client.patch(f"/items/{item['id']}", json={"quantity": 1000}))
        else:
            requests.append(client.patch(f"/items/{item['id']}", json={"name": "item-1"}))
    requests += [client.post("/items", json={"name": name, "quantity": 5}) for name in new_names]

    responses = await gather(*requests)

    for (kind, item), response in zip(operations, responses, strict=False):
        if kind == "delete":
            assert response.status_code == 204
            del expected[item["name"]]
        elif kind == "set-quantity":
            assert response.status_code == 200
            expected[item["name"]] = 1000
        else:
            assert response.status_code == 409
    for name, response in zip(new_names, responses[len(operations) :], strict=True):
        if response.status_code == 201:
            expected[name] = 5
        else:
            assert response.status_code == 409, response.text
    assert await stored_items(app) == expected
