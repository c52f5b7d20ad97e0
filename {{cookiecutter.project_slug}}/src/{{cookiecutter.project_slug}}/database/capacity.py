"""Database capacity: `pool_capacity` slots, and at most that many requests hold a session.

The others wait here, in the event loop, in arrival order, holding neither a connection nor
(in sync services) a worker thread. Waiting inside the pool instead would time out under load,
and in sync services could deadlock: every worker thread waiting for a connection held by a
request that needs a thread to finish. A request that waits longer than `capacity_timeout`
seconds is answered 503 with Retry-After (CapacityTimeoutError, answered by `errors.py`).

With traces on, the "database slot" span runs from the start of the wait to the slot's release,
and the slot admits one unit of work: its span starts once the slot is taken, a child of the
slot's, so where the request waited shows as the gap before it (and as the slot span's
`db.slot.wait_time`, in seconds). The unit of work's span is made current here, in the
request's own task, so the session's statements are its children wherever they run (FastAPI
copies the task's context into the worker thread of a sync endpoint); `get_session` records
its outcome.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Protocol

import anyio
from fastapi import Request
from opentelemetry import context, trace
from opentelemetry.trace import Status, StatusCode, Tracer

from .. import metrics
from .observability import UNIT_OF_WORK
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
    state = request.app.state
    slots: anyio.Semaphore = state.database_slots
    settings: CapacitySettings = state.settings
    tracer: Tracer | None = state.tracer  # None when traces are off
    span = None if tracer is None else tracer.start_span("database slot")
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
            if span is not None:
                span.set_status(Status(StatusCode.ERROR, "no database slot in time"))
                span.end()
            raise CapacityTimeoutError from None
        except BaseException:  # cancelled while waiting: the client went away
            if span is not None:
                span.end()
            raise
        finally:
            waited = time.perf_counter() - started
            if settings.metrics_enabled:
                metrics.DB_PENDING_REQUESTS.dec()
                metrics.DB_WAIT_TIME.observe(waited)
    else:
        if settings.metrics_enabled:
            metrics.DB_WAIT_TIME.observe(waited)
    if tracer is None or span is None:  # traces off
        try:
            yield
        finally:
            slots.release()
        return
    span.set_attribute("db.slot.wait_time", waited)
    unit_of_work = tracer.start_span(UNIT_OF_WORK, context=trace.set_span_in_context(span))
    # Attached and detached in the request's own task, where FastAPI runs this dependency.
    token = context.attach(trace.set_span_in_context(unit_of_work))
    try:
        yield
    finally:
        slots.release()
        context.detach(token)
        unit_of_work.end()
        span.end()
