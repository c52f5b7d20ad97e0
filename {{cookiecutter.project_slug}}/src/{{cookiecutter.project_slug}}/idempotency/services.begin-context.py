"""The idempotency keys' own unit of work: the purge of expired keys, one batch per call.

Convention (begin-context): each function is one `async with session.begin():` block.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from . import repository


async def purge_expired(session: AsyncSession, *, before: int, limit: int) -> int:
    """Delete up to `limit` keys created before `before`; the number deleted. A batch is
    deleted whole or not at all."""
    async with session.begin():
        ids = await repository.expired_key_ids(session, before=before, limit=limit)
        return await repository.delete_keys(session, ids)
