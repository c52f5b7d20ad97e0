"""Versions, ETags and conditional writes (kit/versions.py, kit/http.py): a concurrent edit
is refused, never silently overwritten, and every path that changes a row changes its ETag."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from {{ cookiecutter.project_slug }}.items.models import Item
from {{ cookiecutter.project_slug }}.settings import Settings

from .support.helpers import create, gather, stored_items
from .support.serving import serve
from .support.tables import empty_database

pytestmark = pytest.mark.anyio


async def read(client: httpx.AsyncClient, path: str) -> tuple[dict[str, Any], str]:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return response.json(), response.headers["etag"]


async def test_every_response_that_is_one_row_carries_its_etag(client: httpx.AsyncClient) -> None:
    created = await client.post("/items", json={"name": "bolt", "quantity": 5})
    item = created.json()
    assert created.headers["etag"] == f'"{item["version"]}"'
    assert created.headers["location"].endswith(f"/items/{item['id']}")
    _, tag = await read(client, f"/items/{item['id']}")
    assert tag == created.headers["etag"]

    changed = await client.patch(f"/items/{item['id']}", json={"quantity": 6})
    assert changed.headers["etag"] != tag
    placed = await client.post("/orders", json={"lines": [{"item_id": item["id"], "quantity": 1}]})
    assert placed.headers["etag"] == f'"{placed.json()["version"]}"'
    _, order_tag = await read(client, f"/orders/{placed.json()['id']}")
    assert order_tag == placed.headers["etag"]


async def test_if_none_match_answers_304_while_the_row_is_unchanged(
    client: httpx.AsyncClient,
) -> None:
    item = await create(client, "bolt", 5)
    _, tag = await read(client, f"/items/{item['id']}")

    unchanged = await client.get(f"/items/{item['id']}", headers={"If-None-Match": tag})
    assert (unchanged.status_code, unchanged.content, unchanged.headers["etag"]) == (304, b"", tag)

    await client.patch(f"/items/{item['id']}", json={"quantity": 6})
    changed = await client.get(f"/items/{item['id']}", headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.json()["quantity"] == 6


async def test_a_stale_if_match_is_412_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    item = await create(client, "bolt", 5)
    _, stale = await read(client, f"/items/{item['id']}")
    fresh = (await client.patch(f"/items/{item['id']}", json={"quantity": 6})).headers["etag"]

    refused = [
        await client.patch(
            f"/items/{item['id']}", json={"quantity": 100}, headers={"If-Match": stale}
        ),
        await client.delete(f"/items/{item['id']}", headers={"If-Match": stale}),
    ]
    assert [response.status_code for response in refused] == [412, 412], refused
    assert await stored_items(app) == {"bolt": 6}

    accepted = await client.patch(
        f"/items/{item['id']}", json={"quantity": 7}, headers={"If-Match": fresh}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.headers["etag"] != fresh
    deleted = await client.delete(
        f"/items/{item['id']}", headers={"If-Match": accepted.headers["etag"]}
    )
    assert deleted.status_code == 204


async def test_concurrent_read_modify_writes_with_if_match_one_wins_one_is_412(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    item = await create(client, "bolt", 5)
    _, tag = await read(client, f"/items/{item['id']}")

    first, second = await gather(
        client.patch(f"/items/{item['id']}", json={"quantity": 50}, headers={"If-Match": tag}),
        client.patch(f"/items/{item['id']}", json={"quantity": 60}, headers={"If-Match": tag}),
    )

    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [200, 412], (first.text, second.text)
    winner = first if first.status_code == 200 else second
    assert await stored_items(app) == {"bolt": winner.json()["quantity"]}


async def test_without_if_match_the_last_write_wins(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Documented behaviour (README: Retries and concurrent edits): a write without If-Match
    applies to whatever version it finds, so of two such edits the later one is kept."""
    item = await create(client, "bolt", 5)
    await client.patch(f"/items/{item['id']}", json={"quantity": 50})
    last = await client.patch(f"/items/{item['id']}", json={"quantity": 60})
    assert last.status_code == 200
    assert await stored_items(app) == {"bolt": 60}


async def test_every_path_that_changes_stock_changes_the_etag(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """An order placed (or cancelled), a transfer and a bulk adjustment between a client's GET
    and its PATCH make that PATCH a 412."""
    bolt = await create(client, "bolt", 10)
    nut = await create(client, "nut", 10)
    path = f"/items/{bolt['id']}"
    lines = [{"item_id": bolt["id"], "quantity": 1}]
    changes: list[tuple[str, dict[str, Any]]] = [
        ("/orders", {"lines": lines}),
        (f"{path}/transfer", {"to_item_id": nut["id"], "quantity": 1}),
        ("/items/adjust-quantity", {"name_prefix": "bolt", "delta": 1}),
    ]
    for change, body in changes:
        _, tag = await read(client, path)
        assert (await client.post(change, json=body)).status_code < 300
        stale = await client.patch(path, json={"quantity": 0}, headers={"If-Match": tag})
        assert stale.status_code == 412, stale.text
    assert await stored_items(app) == {"bolt": 9, "nut": 11}


async def test_a_stale_cancel_or_transfer_is_412(app: FastAPI, client: httpx.AsyncClient) -> None:
    bolt = await create(client, "bolt", 10)
    nut = await create(client, "nut", 10)
    placed = await client.post("/orders", json={"lines": [{"item_id": bolt["id"], "quantity": 1}]})
    stale_order = '"0"'
    cancel = await client.post(
        f"/orders/{placed.json()['id']}/cancel", headers={"If-Match": stale_order}
    )
    transfer = await client.post(
        f"/items/{bolt['id']}/transfer",
        json={"to_item_id": nut["id"], "quantity": 1},
        headers={"If-Match": '"0"'},
    )
    assert (cancel.status_code, transfer.status_code) == (412, 412)
    assert await stored_items(app) == {"bolt": 9, "nut": 10}
    cancelled = await client.post(
        f"/orders/{placed.json()['id']}/cancel", headers={"If-Match": placed.headers["etag"]}
    )
    assert cancelled.status_code == 200, cancelled.text


async def test_a_change_found_at_flush_is_412_not_500(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Another writer's change between the unit of work's read and its flush: the versioned
    UPDATE matches no row (StaleDataError). Made certain here by bumping the version, in the
    same transaction, just before the flush."""
    item = await create(client, "bolt", 5)

    def concurrent_change(session: Session, *_: Any) -> None:
        if any(isinstance(row, Item) for row in session.dirty):
            # As another writer would: behind the session's back, its loaded row left as read.
            session.execute(
                update(Item)
                .values(version=Item.version + 1)
                .execution_options(synchronize_session=False)
            )

    event.listen(Session, "before_flush", concurrent_change)
    try:
        response = await client.patch(f"/items/{item['id']}", json={"quantity": 9})
    finally:
        event.remove(Session, "before_flush", concurrent_change)

    assert response.status_code == 412, response.text
    assert await stored_items(app) == {"bolt": 5}


@pytest.mark.parametrize("value", ["3", '"3', 'W/"x" "y"'])
async def test_a_malformed_entity_tag_is_a_400(client: httpx.AsyncClient, value: str) -> None:
    item = await create(client, "bolt", 5)
    response = await client.patch(
        f"/items/{item['id']}", json={"quantity": 1}, headers={"If-Match": value}
    )
    assert response.status_code == 400, response.text


async def test_a_required_if_match_is_a_428_when_missing(database_url: str) -> None:
    await empty_database(database_url)
    settings = Settings(database_url=database_url, if_match_required=True)
    async with serve(settings) as (_, client):
        item = await create(client, "bolt", 5)
        missing = await client.patch(f"/items/{item['id']}", json={"quantity": 1})
        given = await client.patch(
            f"/items/{item['id']}", json={"quantity": 1}, headers={"If-Match": '"1"'}
        )
    assert missing.status_code == 428, missing.text
    assert given.status_code == 200, given.text
