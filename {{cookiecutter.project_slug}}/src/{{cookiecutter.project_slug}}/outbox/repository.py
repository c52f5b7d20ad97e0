"""Data access for the outbox: statements only, never a commit. `record` is the API of the
units of work: it adds an event to their transaction."""

import json
import time
import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .errors import EventPayloadError
from .models import OutboxEvent


def record(session: AsyncSession, kind: str, payload: Mapping[str, object]) -> OutboxEvent:
    """Add an event to the session's transaction: it is stored by the commit that stores the
    unit of work's changes, and dropped with them by a rollback. The payload must be JSON (no
    NaN); the event id is new."""
    try:
        body = json.dumps(payload, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise EventPayloadError(kind, error) from error
    event = OutboxEvent(
        event_id=str(uuid.uuid4()),
        kind=kind,
        payload=body,
        created_at=int(time.time()),
    )
    session.add(event)
    return event


async def claim_unsent(session: AsyncSession, *, limit: int) -> Sequence[OutboxEvent]:
    """The oldest `limit` committed rows not yet sent, locked until the transaction ends; rows
    another relay has locked are skipped, not waited for (SKIP LOCKED). A database without row
    locks ignores the clause: there the relays' write transactions take turns instead."""
    rows = await session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.sent_at.is_(None))
        .order_by(OutboxEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True),
    )
    return rows.all()


async def mark_sent(session: AsyncSession, ids: Sequence[int], *, sent_at: int) -> None:
    if ids:
        await session.execute(
            update(OutboxEvent).where(OutboxEvent.id.in_(ids)).values(sent_at=sent_at),
        )


async def sent_event_ids(session: AsyncSession, *, before: int, limit: int) -> list[int]:
    """Up to `limit` rows sent before `before`, locked; rows another purge has locked are
    skipped, so two purges share the work."""
    ids = await session.scalars(
        select(OutboxEvent.id)
        .where(OutboxEvent.sent_at < before)
        .order_by(OutboxEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True),
    )
    return list(ids)


async def delete_events(session: AsyncSession, ids: list[int]) -> int:
    if not ids:
        return 0
    await session.execute(
        delete(OutboxEvent)
        .where(OutboxEvent.id.in_(ids))
        .execution_options(synchronize_session=False),
    )
    return len(ids)
