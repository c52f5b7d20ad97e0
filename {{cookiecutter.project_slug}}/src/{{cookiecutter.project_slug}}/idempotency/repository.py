"""Data access for idempotency keys: statements only, in the caller's transaction."""

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from .keys import RequestKey
from .models import IdempotencyRecord


async def insert_key(session: AsyncSession, key: RequestKey) -> IdempotencyRecord:
    """Insert the key's row; a concurrent transaction that inserted the same key makes this
    wait on the unique index until it ends, then fail (IntegrityError) if it committed."""
    record = IdempotencyRecord(
        owner=key.owner,
        key=key.key,
        operation=key.operation,
        fingerprint=key.fingerprint,
        created_at=key.created_at,
    )
    session.add(record)
    await session.flush()
    return record


async def stored_key(session: AsyncSession, key: RequestKey) -> IdempotencyRecord | None:
    """The committed row of the key. A locking read: it reads the latest committed row even
    where a plain read would see the transaction's older snapshot (InnoDB's REPEATABLE READ)."""
    return await session.scalar(
        select(IdempotencyRecord)
        .where(
            IdempotencyRecord.owner == key.owner,
            IdempotencyRecord.key == key.key,
            IdempotencyRecord.operation == key.operation,
        )
        .with_for_update()
        .execution_options(populate_existing=True),
    )


async def delete_key(session: AsyncSession, record: IdempotencyRecord) -> None:
    await session.delete(record)
    await session.flush()


async def expired_key_ids(session: AsyncSession, *, before: int, limit: int) -> list[int]:
    """Up to `limit` keys created before `before`, locked; rows another purge has locked are
    skipped (SKIP LOCKED where the database has row locks), so two purges share the work."""
    ids = await session.scalars(
        select(IdempotencyRecord.id)
        .where(IdempotencyRecord.created_at < before)
        .order_by(IdempotencyRecord.id)
        .limit(limit)
        .with_for_update(skip_locked=True),
    )
    return list(ids)


async def delete_keys(session: AsyncSession, ids: list[int]) -> int:
    if not ids:
        return 0
    await session.execute(
        delete(IdempotencyRecord)
        .where(IdempotencyRecord.id.in_(ids))
        .execution_options(synchronize_session=False),
    )
    return len(ids)
