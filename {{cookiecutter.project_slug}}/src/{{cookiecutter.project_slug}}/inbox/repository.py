"""Data access for the inbox: statements only, never a commit."""

import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import InboxEntry


async def is_handled(session: AsyncSession, *, consumer: str, event_id: str) -> bool:
    entry = await session.scalar(
        select(InboxEntry.event_id).where(
            InboxEntry.consumer == consumer,
            InboxEntry.event_id == event_id,
        ),
    )
    return entry is not None


async def add_entry(session: AsyncSession, *, consumer: str, event_id: str) -> None:
    """Insert the event's entry now (flushed): a second delivery of the event handled at the
    same moment waits on its primary key, then fails, and is retried to find it handled."""
    session.add(InboxEntry(consumer=consumer, event_id=event_id, handled_at=int(time.time())))
    await session.flush()
