"""The items API: every endpoint, its happy path and its refusals."""

import httpx
import pytest
from fastapi import FastAPI

from .support.database import execute
from .support.helpers import create

pytestmark = pytest.mark.anyio


async def test_create_returns_the_stored_item(client: httpx.AsyncClient) -> None:
    created = await create(client, "bolt", 7)

    response = await client.get(f"/items/{created['id']}")

    assert response.status_code == 200
    assert response.json() == {"id": created["id"], "name": "bolt", "quantity": 7, "version": 1}


async def test_duplicate_name_is_a_conflict(client: httpx.AsyncClient) -> None:
    await create(client, "bolt")

    response = await client.post("/items", json={"name": "bolt"})

    assert response.status_code == 409
    assert "constraint" in response.json()["detail"]


async def test_unknown_item_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/items/999999")

    assert response.status_code == 404
    assert response.json() == {"detail": "Item 999999 not found."}


async def test_id_that_is_not_a_number_names_nothing(client: httpx.AsyncClient) -> None:
    # Only digits match an id's path segment (kit/types.py: path_id).
    response = await client.get("/items/abc")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_an_id_that_is_a_number_out_of_range_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/items/0")

    assert response.status_code == 422


async def test_list_pages_through_items_in_id_order(client: httpx.AsyncClient) -> None:
    for number in range(25):
        await create(client, f"item-{number:02}")

    pages = [
        (await client.get("/items", params={"page": page, "page_size": 10})).json()
        for page in (1, 2, 3, 4)
    ]

    assert [len(page["items"]) for page in pages] == [10, 10, 5, 0]
    assert all(page["total"] == 25 for page in pages)
    names = [item["name"] for page in pages for item in page["items"]]
    assert names == [f"item-{number:02}" for number in range(25)]
    assert pages[1]["page"] == 2
    assert pages[1]["page_size"] == 10


async def test_list_refuses_a_page_size_of_zero(client: httpx.AsyncClient) -> None:
    response = await client.get("/items", params={"page_size": 0})

    assert response.status_code == 422


async def test_partial_update_changes_only_the_given_fields(client: httpx.AsyncClient) -> None:
    created = await create(client, "bolt", 7)

    response = await client.patch(f"/items/{created['id']}", json={"quantity": 9})

    assert response.status_code == 200
    # A change is a new version.
    assert response.json() == {"id": created["id"], "name": "bolt", "quantity": 9, "version": 2}
    assert (await client.get(f"/items/{created['id']}")).json()["quantity"] == 9


async def test_update_of_an_unknown_item_is_404(client: httpx.AsyncClient) -> None:
    response = await client.patch("/items/999999", json={"quantity": 1})

    assert response.status_code == 404


async def test_rename_onto_an_existing_name_is_a_conflict(client: httpx.AsyncClient) -> None:
    await create(client, "bolt")
    nut = await create(client, "nut")

    response = await client.patch(f"/items/{nut['id']}", json={"name": "bolt"})

    assert response.status_code == 409
    assert (await client.get(f"/items/{nut['id']}")).json()["name"] == "nut"


async def test_adjust_quantity_updates_every_matching_item(client: httpx.AsyncClient) -> None:
    await create(client, "bolt-m3", 1)
    await create(client, "bolt-m4", 2)
    await create(client, "nut-m3", 3)

    response = await client.post(
        "/items/adjust-quantity", json={"name_prefix": "bolt", "delta": 10}
    )

    assert response.status_code == 200
    assert response.json() == {"updated": 2}
    listed = (await client.get("/items")).json()["items"]
    assert {item["name"]: item["quantity"] for item in listed} == {
        "bolt-m3": 11,
        "bolt-m4": 12,
        "nut-m3": 3,
    }


async def test_adjust_quantity_treats_the_prefix_literally(client: httpx.AsyncClient) -> None:
    await create(client, "bolt", 1)

    response = await client.post("/items/adjust-quantity", json={"name_prefix": "%", "delta": 1})

    assert response.json() == {"updated": 0}


async def test_delete_removes_the_item(client: httpx.AsyncClient) -> None:
    created = await create(client, "bolt")

    response = await client.delete(f"/items/{created['id']}")

    assert response.status_code == 204
    assert (await client.get(f"/items/{created['id']}")).status_code == 404
    assert (await client.delete(f"/items/{created['id']}")).status_code == 404


async def test_a_deleted_id_is_never_given_to_another_item(client: httpx.AsyncClient) -> None:
    """A client that still holds a deleted item's id must not reach a new item by it (a
    database may give the highest id deleted to the next row: database/dialect.py's
    NEVER_REUSED_IDS, migration 0004)."""
    await create(client, "nut")
    highest = await create(client, "bolt")
    assert (await client.delete(f"/items/{highest['id']}")).status_code == 204

    again = await create(client, "washer")

    assert again["id"] > highest["id"]
    response = await client.get(f"/items/{highest['id']}")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": f"Item {highest['id']} not found."},
    )


async def test_bulk_create_stores_all_rows(client: httpx.AsyncClient) -> None:
    rows = [{"name": f"bulk-{number}", "quantity": number} for number in range(50)]

    response = await client.post("/items/bulk", json=rows)

    assert response.status_code == 201
    assert [(item["name"], item["quantity"]) for item in response.json()] == [
        (row["name"], row["quantity"]) for row in rows
    ]
    assert (await client.get("/items")).json()["total"] == 50


async def test_bulk_create_with_one_bad_row_stores_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await create(client, "taken")
    rows = [{"name": "fresh-1"}, {"name": "fresh-2"}, {"name": "taken"}, {"name": "fresh-3"}]

    response = await client.post("/items/bulk", json=rows)

    assert response.status_code == 409
    stored = await execute(app.state.engine, "SELECT name FROM items ORDER BY name")
    assert [row.name for row in stored] == ["taken"]


async def test_bulk_create_refuses_more_than_the_documented_limit(
    client: httpx.AsyncClient,
) -> None:
    rows = [{"name": f"bulk-{number}"} for number in range(1001)]

    response = await client.post("/items/bulk", json=rows)

    assert response.status_code == 422
    assert (await client.get("/items")).json()["total"] == 0


async def test_transfer_moves_quantity_between_items(client: httpx.AsyncClient) -> None:
    source = await create(client, "bolt", 10)
    target = await create(client, "nut", 1)

    response = await client.post(
        f"/items/{source['id']}/transfer", json={"to_item_id": target["id"], "quantity": 4}
    )

    assert response.status_code == 200
    assert response.json()["quantity"] == 6
    assert (await client.get(f"/items/{target['id']}")).json()["quantity"] == 5


async def test_transfer_of_more_than_the_stock_is_a_conflict(client: httpx.AsyncClient) -> None:
    source = await create(client, "bolt", 3)
    target = await create(client, "nut", 0)

    response = await client.post(
        f"/items/{source['id']}/transfer", json={"to_item_id": target["id"], "quantity": 4}
    )

    assert response.status_code == 409
    assert (await client.get(f"/items/{source['id']}")).json()["quantity"] == 3


@pytest.mark.parametrize("field", ["name", "quantity"])
async def test_an_explicit_null_is_refused_before_any_sql(
    client: httpx.AsyncClient, app: FastAPI, field: str
) -> None:
    """A field may be left out of a PATCH, but not set to null: its column is NOT NULL."""
    item = await create(client, "kept", 3)

    response = await client.patch(f"/items/{item['id']}", json={field: None})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]
    rows = await execute(app.state.engine, "SELECT name, quantity FROM items")
    assert [(row.name, row.quantity) for row in rows] == [("kept", 3)]
