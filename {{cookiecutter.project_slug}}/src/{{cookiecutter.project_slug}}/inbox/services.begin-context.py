"""The worker's unit of work: one event, its inbox entry and its handler's effect in one
transaction.

Convention (begin-context): each function is one `async with session.begin():` block.
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
    async with session.begin():
        handled = not await repository.is_handled(session, consumer=consumer, event_id=event.id)
        if handled:
            await repository.add_entry(session, consumer=consumer, event_id=event.id)
            await handler(session, event)
    return handled


async def purge_handled(session: AsyncSession, *, before: int, limit: int) -> int:
    """Delete up to `limit` inbox entries older than `before`; the number deleted. A batch is
    deleted whole or not at all."""
    async with session.begin():
        keys = await repository.old_entries(session, before=before, limit=limit)
        return await repository.delete_entries(session, keys)
