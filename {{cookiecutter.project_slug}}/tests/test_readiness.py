"""The readiness probe under load: `/health/ready` takes no database slot and no pooled
connection, so it answers at once while every slot and connection is taken."""

import time

import anyio
import pytest

from {{ cookiecutter.project_slug }}.settings import Settings

from .support.database import connection_checked_out
from .support.serving import serve

pytestmark = pytest.mark.anyio


async def test_ready_takes_no_slot_and_no_pool_connection(database_url: str) -> None:
    settings = Settings(database_url=database_url, pool_size=1, ready_timeout=1)
    async with serve(settings) as (app, client):
        slots: anyio.Semaphore = app.state.database_slots
        await slots.acquire()
        try:
            async with connection_checked_out(app.state.engine):
                started = time.monotonic()
                response = await client.get("/health/ready")
                assert time.monotonic() - started < 1
        finally:
            slots.release()

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "pool": {"size": 1, "checked_out": 1, "overflow": 0, "capacity": 1, "waiting": 0},
    }
