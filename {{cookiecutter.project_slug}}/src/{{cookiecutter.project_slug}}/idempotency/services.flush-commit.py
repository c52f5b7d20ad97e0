"""The idempotency keys' own unit of work: the purge of expired keys, one batch per call.

Convention (flush-commit): each function commits once, at its end.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from . import repository


async def purge_expired(session: AsyncSession, *, before: int, limit: int) -> int:
    """Delete up to `limit` keys created before `before`; the number deleted. A batch is
    deleted whole or not at all."""
    ids = await repository.expired_key_ids(session, before=before, limit=limit)
    deleted = await repository.delete_keys(session, ids)
    await session.commit()
    return deleted
