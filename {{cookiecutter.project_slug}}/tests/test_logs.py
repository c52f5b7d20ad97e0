"""Log lines: one JSON line per request and one per rollback, every line of a request with its
request id, and never a value the client sent, even at DEBUG."""

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .support.dialect import INCIDENT_ROLLBACK
from .support.helpers import INTEGER_MAX, create, incident
from .support.log_capture import Capture, captured_at_debug

pytestmark = pytest.mark.anyio


@pytest.fixture
def logs(served: Any) -> Iterator[Capture]:
    """Every record the service logs with LOG_LEVEL=DEBUG, SQLAlchemy's statements included."""
    with captured_at_debug() as capture:
        yield capture


async def test_one_json_line_per_request_with_route_template_status_and_duration(
    client: httpx.AsyncClient, logs: Capture
) -> None:
    item = await create(client, "bolt")
    logs.lines.clear()

    await client.get(f"/items/{item['id']}", headers={"X-Request-ID": "req-1"})

    lines = [entry for entry in logs.entries() if "http.route" in entry]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "req-1"
    assert line["http.request.method"] == "GET"
    assert line["http.route"] == "/items/{item_id}"
    assert line["http.response.status_code"] == 200
    assert 0 < line["http.server.request.duration"] < 5


async def test_a_rollback_is_one_line_with_its_cause_and_the_database_error_code(
    client: httpx.AsyncClient, logs: Capture
) -> None:
    cause, code = INCIDENT_ROLLBACK
    await create(client, "nut")
    logs.lines.clear()

    response = await incident(client)

    assert response.status_code in (409, 422)
    rollback_lines = logs.rollbacks()
    assert len(rollback_lines) == 1
    line = rollback_lines[0]
    assert line["request_id"] == "incident-1"
    assert line["db.rollback.cause"] == cause
    assert line["db.response.status_code"] == code
    assert line["error.type"].startswith("sqlalchemy.exc.")
    # Every line the service logged while the request ran carries its request id (httpx's
    # lines come from the test's client, after the responses).
    incident_lines = [entry for entry in logs.entries() if entry["log.logger"] != "httpx"]
    request_ids = {entry.get("request_id") for entry in incident_lines}
    assert "incident-1" in request_ids
    assert None not in request_ids


async def test_no_log_line_ever_holds_a_value_the_client_sent(
    client: httpx.AsyncClient, logs: Capture
) -> None:
    secret = f"sk_live_{uuid.uuid4().hex}"
    # Negative control: the capture does see a value that is logged.
    logging.getLogger("control").info("control %s", secret)
    assert any(secret in line for line in logs.lines)
    logs.lines.clear()

    # Stored once (its INSERT's parameters are logged by SQLAlchemy, hidden) ...
    created = await create(client, secret, quantity=INTEGER_MAX - 1)
    other = await create(client, "other")
    # ... then refused by the database three ways: duplicate on INSERT and on UPDATE (drivers
    # quote the value in the message), and an out-of-range (or CHECK) update.
    assert (await client.post("/items", json={"name": secret})).status_code == 409
    assert (await client.patch(f"/items/{other['id']}", json={"name": secret})).status_code == 409
    delta = -INTEGER_MAX if INCIDENT_ROLLBACK[0] == "integrity" else 10
    adjust = await client.post(
        "/items/adjust-quantity", json={"name_prefix": secret, "delta": delta}
    )
    assert adjust.status_code in (409, 422)
    assert (await client.get(f"/items/{created['id']}")).status_code == 200

    assert len(logs.lines) > 10  # SQLAlchemy's statements are in the capture
    leaks = [line for line in logs.lines if secret in line or secret[8:] in line]
    assert leaks == []
