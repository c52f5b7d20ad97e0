"""Metrics of the units of work, with exact values: commits, and rollbacks by cause, after the
incident and after each kind of refused request."""

import httpx
import pytest

from {{ cookiecutter.project_slug }}.metrics import ROLLBACK_CAUSES

from .support.dialect import INCIDENT_ROLLBACK
from .support.helpers import (
    ORDINARY_REQUESTS_AFTER_A_FAILURE,
    assert_ordinary_requests_succeed,
    create,
    incident,
)
from .support.metric_samples import commits, rollbacks, sample

pytestmark = pytest.mark.anyio


async def test_incident_scenario_counts_exactly_one_rollback_and_twenty_commits(
    client: httpx.AsyncClient,
) -> None:
    cause, _ = INCIDENT_ROLLBACK
    status_code = "409" if cause == "integrity" else "422"
    adjusted = {
        "http_request_method": "POST",
        "http_route": "/items/adjust-quantity",
        "http_response_status_code": status_code,
    }
    await create(client, "nut")
    rollbacks_before, commits_before = rollbacks(), commits() + 1  # + incident()'s create
    requests_before = sample("http_server_request_duration_seconds_count", **adjusted)

    response = await incident(client)
    assert str(response.status_code) == status_code
    await assert_ordinary_requests_succeed(client)

    rollbacks_after = rollbacks()
    assert {c: rollbacks_after[c] - rollbacks_before[c] for c in ROLLBACK_CAUSES} == {
        c: (1 if c == cause else 0) for c in ROLLBACK_CAUSES
    }
    assert commits() - commits_before == ORDINARY_REQUESTS_AFTER_A_FAILURE
    assert sample("http_server_request_duration_seconds_count", **adjusted) == requests_before + 1


async def test_rollback_causes_of_client_errors_and_conflicts(
    client: httpx.AsyncClient,
) -> None:
    await create(client, "bolt")
    before = rollbacks()

    assert (await client.post("/items", json={"name": "bolt"})).status_code == 409
    # A 404 after the unit of work read from the database: a rollback caused by the client.
    assert (await client.patch("/items/987654", json={"quantity": 1})).status_code == 404
    # Refused before any statement: nothing to roll back, nothing counted.
    assert (await client.post("/items", json={"name": ""})).status_code == 422

    after = rollbacks()
    assert {c: after[c] - before[c] for c in ROLLBACK_CAUSES} == {
        c: (1 if c in ("integrity", "client_error") else 0) for c in ROLLBACK_CAUSES
    }
