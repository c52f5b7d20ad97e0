"""The relay's unit of work: one batch of the outbox, claimed, published and marked sent in one
transaction.

Convention (flush-commit): data access in `repository.py` executes and flushes; each function
here commits once, at its end.
"""

import time
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from ..messaging.messages import Message
from . import repository


class Publisher(Protocol):
    """What the relay publishes through (messaging/broker.py's Broker): `publish` returns once
    the broker confirmed every message, and raises if it did not."""

    async def publish(self, messages: Sequence[Message]) -> None: ...


async def relay_batch(session: AsyncSession, publisher: Publisher, *, limit: int) -> int:
    """Claim up to `limit` unsent events, publish them and, once the broker confirmed them all,
    mark them sent; the number sent. When publishing fails, the transaction rolls back and no
    row is marked: they are published again by the next batch (at least once: the worker's
    inbox absorbs a second delivery)."""
    events = await repository.claim_unsent(session, limit=limit)
    messages = [Message(event.event_id, event.kind, event.payload.encode()) for event in events]
    if messages:
        await publisher.publish(messages)
        sent = [event.id for event in events]
        await repository.mark_sent(session, sent, sent_at=int(time.time()))
    await session.commit()
    return len(messages)


async def purge_sent(session: AsyncSession, *, before: int, limit: int) -> int:
    """Delete up to `limit` events sent before `before`; the number deleted. A batch is deleted
    whole or not at all."""
    ids = await repository.sent_event_ids(session, before=before, limit=limit)
    deleted = await repository.delete_events(session, ids)
    await session.commit()
    return deleted
