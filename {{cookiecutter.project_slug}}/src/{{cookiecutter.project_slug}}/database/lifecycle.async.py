"""The engine as the event loop sees it: probed by the readiness check, disposed at shutdown."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def ping(engine: AsyncEngine) -> None:
    """One round trip on a connection of its own."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def dispose(engine: AsyncEngine) -> None:
    await engine.dispose()
