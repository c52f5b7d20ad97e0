"""The worker's unit of work: one event, its inbox entry and its handler's effect in one
transaction.

Convention (flush-commit): data access in `repository.py` adds and flushes; each function here
commits once, at its end.
"""

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from ..messaging.messages import Event
from . import repository


class Handler(Protocol):
    """A function that adds an event's effect to the session's transaction, never committing
    (the unit of work below does), e.g. `sales/handlers.py`'s `count_sold`."""

    async def __call__(self, session: AsyncSession, event: Event, /) -> None: ...


async def handle_event(
    session: AsyncSession,
    event: Event,
    handler: Handler,
    *,
    consumer: str,
) -> bool:
    """Run `handler` on `event` unless `consumer` has handled it already; True when it ran. The
    entry and the effect are committed together: a failure leaves neither."""
    handled = not await repository.is_handled(session, consumer=consumer, event_id=event.id)
    if handled:
        await repository.add_entry(session, consumer=consumer, event_id=event.id)
        await handler(session, event)
    await session.commit()
    return handled


async def purge_handled(session: AsyncSession, *, before: int, limit: int) -> int:
    """Delete up to `limit` inbox entries older than `before`; the number deleted. A batch is
    deleted whole or not at all."""
    keys = await repository.old_entries(session, before=before, limit=limit)
    deleted = await repository.delete_entries(session, keys)
    await session.commit()
    return deleted
