"""Data access for the inbox: statements only, never a commit."""

import time

from sqlalchemy import delete, select, tuple_
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


async def old_entries(session: AsyncSession, *, before: int, limit: int) -> list[tuple[str, str]]:
    """Up to `limit` entries handled before `before`, locked; entries another purge has locked
    are skipped, so two purges share the work."""
    rows = await session.execute(
        select(InboxEntry.consumer, InboxEntry.event_id)
        .where(InboxEntry.handled_at < before)
        .order_by(InboxEntry.handled_at)
        .limit(limit)
        .with_for_update(skip_locked=True),
    )
    return [(consumer, event_id) for consumer, event_id in rows]


async def delete_entries(session: AsyncSession, keys: list[tuple[str, str]]) -> int:
    if not keys:
        return 0
    await session.execute(
        delete(InboxEntry)
        .where(tuple_(InboxEntry.consumer, InboxEntry.event_id).in_(keys))
        .execution_options(synchronize_session=False),
    )
    return len(keys)
