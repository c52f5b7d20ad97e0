"""Database capacity: `pool_capacity` slots, and at most that many requests hold a session.

The others wait here, in the event loop, in arrival order, holding neither a connection nor
(in sync services) a worker thread. Waiting inside the pool instead would time out under load,
and in sync services could deadlock: every worker thread waiting for a connection held by a
request that needs a thread to finish. A request that waits longer than `capacity_timeout`
seconds is answered 503 with Retry-After (CapacityTimeoutError, answered by `errors.py`).
"""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Protocol

import anyio
from fastapi import Request

from .. import metrics
from .settings import DatabaseSettings


class CapacityTimeoutError(Exception):
    """No database slot became free within `capacity_timeout` seconds."""


class CapacitySettings(Protocol):
    """What the wait for a slot reads of the app's settings (`app.state.settings`)."""

    @property
    def capacity_timeout(self) -> float: ...
    @property
    def metrics_enabled(self) -> bool: ...


def create_database_slots(settings: DatabaseSettings) -> anyio.Semaphore:
    return anyio.Semaphore(settings.pool_capacity)


async def database_slot(request: Request) -> AsyncIterator[None]:
    slots: anyio.Semaphore = request.app.state.database_slots
    settings: CapacitySettings = request.app.state.settings
    try:
        # A free slot means nobody is queued: anyio hands a released slot to the first waiter.
        slots.acquire_nowait()
        waited = 0.0
    except anyio.WouldBlock:
        started = time.perf_counter()
        if settings.metrics_enabled:
            metrics.DB_PENDING_REQUESTS.inc()
        try:
            # asyncio's timeout, not anyio.fail_after: a timer handle, where anyio's cancel scope
            # also keeps the task's scope state; under load most requests wait here, and this
            # is about 40 fewer calls each (the service always runs on asyncio, as uvicorn does).
            async with asyncio.timeout(settings.capacity_timeout):
                await slots.acquire()
        except TimeoutError:
            if settings.metrics_enabled:
                metrics.DB_TIMEOUTS.inc()
            raise CapacityTimeoutError from None
        finally:
            waited = time.perf_counter() - started
            if settings.metrics_enabled:
                metrics.DB_PENDING_REQUESTS.dec()
                metrics.DB_WAIT_TIME.observe(waited)
    else:
        if settings.metrics_enabled:
            metrics.DB_WAIT_TIME.observe(waited)
    try:
        yield
    finally:
        slots.release()
