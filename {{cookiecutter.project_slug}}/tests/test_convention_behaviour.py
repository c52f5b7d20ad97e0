"""The session convention in behaviour: a request that fails inside the database leaves nothing
behind, and a write is committed before its response starts. These tests drive the running
service; its static guard, which reads the source, is test_convention_static.py.

The incident this guards against: sessions were handed out without rollback or close, one
`integer out of range` left a failed transaction behind, and every later request that got that
session failed with PendingRollbackError.
"""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from starlette.types import Message, Receive, Scope, Send

from {{ cookiecutter.project_slug }}.settings import Settings

from .support.database import execute
from .support.helpers import assert_ordinary_requests_succeed, create
from .support.identity_provider import access_headers
from .support.serving import serve
from .support.tables import empty_tables

# Also behind a transaction pooler, where the database can have one (conftest.py).
pytestmark = [pytest.mark.anyio, pytest.mark.through_poolers]


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


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("POST", "/items", {"name": "washer"}, id="create"),
        pytest.param("PATCH", "/items/{id}", {"quantity": 3}, id="update"),
        pytest.param("DELETE", "/items/{id}", None, id="delete"),
    ],
)
async def test_a_write_is_committed_before_its_response_starts(
    app_settings: Settings, method: str, path: str, body: dict[str, Any] | None
) -> None:
    """Code after the session dependency's `yield` runs after the response is sent: a commit
    there could fail after the client was told it succeeded. The unit of work commits first."""
    events: list[str] = []
    async with serve(app_settings) as (app, client):
        await empty_tables(app)
        item = await create(client, "bolt")
        # The engine's own COMMIT, as the database gets it; the sync engine under an async one.
        engine = getattr(app.state.engine, "sync_engine", app.state.engine)
        event.listen(engine, "commit", lambda _connection: events.append("COMMIT"))

        async def app_recording_the_response(scope: Scope, receive: Receive, send: Send) -> None:
            async def send_and_record(message: Message) -> None:
                if message["type"] == "http.response.start":
                    events.append("response")
                await send(message)

            await app(scope, receive, send_and_record)

        transport = httpx.ASGITransport(app=app_recording_the_response)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=access_headers()
        ) as recording:
            response = await recording.request(method, path.format(id=item["id"]), json=body)

    assert response.status_code < 300, response.text
    assert events == ["COMMIT", "response"]
