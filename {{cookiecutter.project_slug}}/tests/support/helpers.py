"""Helpers of the test modules: concurrent requests, items made through the API, the incident's
failing request, and what the database holds."""

from typing import Any

import anyio
import httpx
from fastapi import FastAPI

from .database import execute
from .dialect import INCIDENT_ROLLBACK

ORDINARY_REQUESTS_AFTER_A_FAILURE = 20
# The largest quantity the 32-bit column holds.
INTEGER_MAX = 2**31 - 1


async def gather(*requests: Any) -> list[httpx.Response]:
    """Send requests concurrently; return their responses in order."""
    responses: list[httpx.Response | None] = [None] * len(requests)

    async def send(index: int, request: Any) -> None:
        responses[index] = await request

    async with anyio.create_task_group() as tasks:
        for index, request in enumerate(requests):
            tasks.start_soon(send, index, request)
    return [response for response in responses if response is not None]


async def collect(responses: list[httpx.Response], request: Any) -> None:
    """Send `request` and add its response to `responses`: a task of a task group, for a test
    that looks at what has been answered while others still wait."""
    responses.append(await request)


async def create(client: httpx.AsyncClient, name: str, quantity: int = 0) -> dict[str, Any]:
    response = await client.post("/items", json={"name": name, "quantity": quantity})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def incident(client: httpx.AsyncClient) -> httpx.Response:
    """The incident's failing unit of work: a write the database refuses (out of range, or
    a CHECK where integers cannot overflow), after an item that it will refuse for was made."""
    cause, _ = INCIDENT_ROLLBACK
    await create(client, "bolt", quantity=10 if cause == "integrity" else INTEGER_MAX - 10)
    return await client.post(
        "/items/adjust-quantity",
        json={"name_prefix": "bolt", "delta": -100 if cause == "integrity" else 100},
        headers={"X-Request-ID": "incident-1"},
    )


async def stored_items(app: FastAPI) -> dict[str, int]:
    rows = await execute(app.state.engine, "SELECT name, quantity FROM items")
    return {row.name: row.quantity for row in rows}


async def assert_ordinary_requests_succeed(client: httpx.AsyncClient) -> None:
    """ORDINARY_REQUESTS_AFTER_A_FAILURE writes and reads succeed, sent a few at a time: a
    failed transaction left on a session shared between requests would fail them, and so would
    one session used by two requests at once."""
    at_once = 5
    for first in range(0, ORDINARY_REQUESTS_AFTER_A_FAILURE, at_once):
        numbers = range(first, first + at_once)
        responses = await gather(
            *(
                client.get("/items", params={"page_size": 5})
                if number % 2
                else client.post("/items", json={"name": f"after-failure-{number}"})
                for number in numbers
            )
        )
        for number, response in zip(numbers, responses, strict=True):
            assert response.status_code == (200 if number % 2 else 201), response.text
