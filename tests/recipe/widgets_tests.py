"""The widgets API: create and get, with the item each widget is made from."""

import httpx
import pytest
from fastapi import FastAPI

from .support.database import execute
from .support.helpers import create

pytestmark = pytest.mark.anyio


async def test_a_created_widget_is_stored_with_its_item(client: httpx.AsyncClient) -> None:
    bolt = await create(client, "bolt", 3)

    created = await client.post("/widgets", json={"name": "gadget", "item_id": bolt["id"]})

    assert created.status_code == 201, created.text
    body = created.json()
    assert body == {"id": body["id"], "name": "gadget", "item": bolt}
    fetched = await client.get(f"/widgets/{body['id']}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == body


async def test_an_unknown_widget_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/widgets/12345")

    assert response.status_code == 404
    assert response.json() == {"detail": "Widget 12345 not found."}


async def test_a_widget_of_an_unknown_item_is_404_and_not_stored(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    response = await client.post("/widgets", json={"name": "orphan", "item_id": 12345})

    assert response.status_code == 404
    assert response.json() == {"detail": "Item 12345 not found."}
    rows = await execute(app.state.engine, "SELECT COUNT(*) AS n FROM widgets")
    assert rows[0].n == 0


async def test_an_item_that_widgets_are_made_from_cannot_be_deleted(
    client: httpx.AsyncClient,
) -> None:
    nut = await create(client, "nut")
    made = await client.post("/widgets", json={"name": "gizmo", "item_id": nut["id"]})
    assert made.status_code == 201, made.text

    response = await client.delete(f"/items/{nut['id']}")

    assert response.status_code == 409
    assert (await client.get(f"/widgets/{made.json()['id']}")).json()["item"] == nut
