"""Orders: stock taken in one transaction, given back once, refused whole; loads that do not
grow with the page; and concurrent orders that never oversell or lose an update."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from {{ cookiecutter.project_slug }}.kit.types import INTEGER_MAX
from {{ cookiecutter.project_slug }}.orders.schemas import MAX_ORDER_LINES

from .support.database import execute
from .support.helpers import create, gather, stored_items

pytestmark = pytest.mark.anyio

# Concurrency is bounded so the suite stays fast: this many rounds of this many requests.
ROUNDS = 5
ORDERS_PER_ROUND = 6


async def order(client: httpx.AsyncClient, *lines: tuple[dict[str, Any], int]) -> httpx.Response:
    body = {"lines": [{"item_id": item["id"], "quantity": quantity} for item, quantity in lines]}
    return await client.post("/orders", json=body)


async def stored_order_count(app: FastAPI) -> int:
    rows = await execute(app.state.engine, "SELECT COUNT(*) AS n FROM orders")
    return int(rows[0].n)


async def test_an_order_takes_stock_and_a_cancel_gives_it_back_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    bolt, nut = await create(client, "bolt", 10), await create(client, "nut", 5)

    placed = await order(client, (nut, 2), (bolt, 3))

    assert placed.status_code == 201, placed.text
    body = placed.json()
    assert body["status"] == "placed"
    assert body["lines"] == [
        {"item_id": nut["id"], "quantity": 2},
        {"item_id": bolt["id"], "quantity": 3},
    ]
    assert await stored_items(app) == {"bolt": 7, "nut": 3}
    fetched = await client.get(f"/orders/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == body
    listed = await client.get("/orders")
    assert listed.json() == {"orders": [body], "page": 1, "page_size": 20, "total": 1}

    cancelled = await client.post(f"/orders/{body['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json() == {**body, "status": "cancelled", "version": body["version"] + 1}
    assert await stored_items(app) == {"bolt": 10, "nut": 5}

    again = await client.post(f"/orders/{body['id']}/cancel")
    assert again.status_code == 409
    assert "already cancelled" in again.json()["detail"]
    assert await stored_items(app) == {"bolt": 10, "nut": 5}


async def test_a_short_item_refuses_the_whole_order_and_names_the_item(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    plenty, scarce = await create(client, "plenty", 10), await create(client, "scarce", 1)

    response = await order(client, (plenty, 5), (scarce, 2))

    assert response.status_code == 409
    body = response.json()
    assert body["item_id"] == scarce["id"]
    assert "scarce" in body["detail"]
    assert (body["requested"], body["available"]) == (2, 1)
    assert await stored_items(app) == {"plenty": 10, "scarce": 1}
    assert await stored_order_count(app) == 0


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param([{"item_id": INTEGER_MAX, "quantity": 1}], 404, id="unknown-item"),
        pytest.param([{"item_id": "known", "quantity": 0}], 422, id="zero-quantity"),
        pytest.param([{"item_id": "known", "quantity": -1}], 422, id="negative-quantity"),
        pytest.param([{"item_id": "known", "quantity": INTEGER_MAX + 1}], 422, id="huge-quantity"),
        pytest.param(
            [{"item_id": "known", "quantity": 1}, {"item_id": "known", "quantity": 1}],
            422,
            id="duplicate-lines",
        ),
        pytest.param([], 422, id="empty-order"),
        pytest.param(
            [{"item_id": "known", "quantity": 1}] * (MAX_ORDER_LINES + 1), 422, id="too-many-lines"
        ),
    ],
)
async def test_bad_orders_get_a_clear_4xx_and_change_nothing(
    client: httpx.AsyncClient, app: FastAPI, lines: list[dict[str, Any]], expected: int
) -> None:
    known = await create(client, "known", 5)
    body = {
        "lines": [
            {**line, "item_id": known["id"] if line["item_id"] == "known" else line["item_id"]}
            for line in lines
        ]
    }

    response = await client.post("/orders", json=body)

    assert response.status_code == expected, response.text
    assert response.json()["detail"]
    assert await stored_items(app) == {"known": 5}
    assert await stored_order_count(app) == 0


async def test_an_unknown_order_is_404(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/orders/12345"), await client.post("/orders/12345/cancel")):
        assert response.status_code == 404
        assert response.json() == {"detail": "Order 12345 not found."}


async def test_an_item_that_orders_refer_to_cannot_be_deleted(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    item = await create(client, "ordered", 3)
    assert (await order(client, (item, 1))).status_code == 201

    response = await client.delete(f"/items/{item['id']}")

    assert response.status_code == 409
    assert await stored_items(app) == {"ordered": 2}


@contextmanager
def counted_statements(app: FastAPI) -> Iterator[list[str]]:
    """Every statement the app's engine sends while the block runs."""
    statements: list[str] = []
    engine = getattr(app.state.engine, "sync_engine", app.state.engine)

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_listing_orders_costs_the_same_statements_for_1_or_50_orders(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Lines are loaded with one more statement (selectinload), not one per order: the N+1
    query a lazy load would make."""
    item = await create(client, "listed", 100)
    assert (await order(client, (item, 1))).status_code == 201
    with counted_statements(app) as one:
        response = await client.get("/orders", params={"page_size": 50})
    assert len(response.json()["orders"]) == 1

    for _ in range(49):
        assert (await order(client, (item, 1))).status_code == 201
    with counted_statements(app) as fifty:
        response = await client.get("/orders", params={"page_size": 50})
    assert len(response.json()["orders"]) == 50
    assert all(len(listed["lines"]) == 1 for listed in response.json()["orders"])

    assert len(fifty) == len(one), (one, fifty)


async def test_two_orders_for_the_last_unit_one_wins(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    last = await create(client, "last", 1)

    responses = await gather(order(client, (last, 1)), order(client, (last, 1)))

    assert sorted(response.status_code for response in responses) == [201, 409]
    assert await stored_items(app) == {"last": 0}
    assert await stored_order_count(app) == 1


async def test_two_cancels_of_one_order_give_stock_back_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    item = await create(client, "returned", 5)
    placed = (await order(client, (item, 2))).json()

    responses = await gather(*(client.post(f"/orders/{placed['id']}/cancel") for _ in range(2)))

    assert sorted(response.status_code for response in responses) == [200, 409]
    assert await stored_items(app) == {"returned": 5}


async def test_orders_in_opposite_item_order_neither_fail_nor_lose_updates(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Each order locks its items in id order, whatever the order of its lines, so two orders
    over the same items queue instead of deadlocking; cancels run among them."""
    first, second = await create(client, "first", 1000), await create(client, "second", 1000)
    kept: list[int] = []
    cancellable: list[int] = []
    for _ in range(ROUNDS):
        requests = [
            order(client, (first, 1), (second, 2))
            if number % 2
            else order(client, (second, 2), (first, 1))
            for number in range(ORDERS_PER_ROUND)
        ]
        cancels = [client.post(f"/orders/{order_id}/cancel") for order_id in cancellable]
        responses = await gather(*requests, *cancels)

        assert [response.status_code for response in responses] == [201] * len(requests) + [
            200
        ] * len(cancels), [response.text for response in responses if response.status_code >= 300]
        placed = [response.json()["id"] for response in responses[: len(requests)]]
        cancellable, kept = placed[:2], kept + placed[2:]

    # The last round's cancellable orders were never cancelled.
    still_placed = len(kept) + len(cancellable)
    assert await stored_items(app) == {
        "first": 1000 - still_placed,
        "second": 1000 - 2 * still_placed,
    }
