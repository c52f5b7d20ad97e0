"""Admission to database work: at most `pool_capacity` requests hold a session at once.

The others wait here, in the event loop, in arrival order, holding neither a connection nor
(in sync services) a worker thread. Waiting inside the pool instead would time out under load,
and in sync services could deadlock: every worker thread waiting for a connection held by a
request that needs a thread to finish.
"""

from collections.abc import AsyncIterator

import anyio
from fastapi import Request

from ..settings import Settings


def create_database_slots(settings: Settings) -> anyio.Semaphore:
    return anyio.Semaphore(settings.pool_capacity)


async def database_slot(request: Request) -> AsyncIterator[None]:
    slots: anyio.Semaphore = request.app.state.database_slots
    async with slots:
        yield
