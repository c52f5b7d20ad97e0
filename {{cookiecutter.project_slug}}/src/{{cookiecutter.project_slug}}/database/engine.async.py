"""The engine as the event loop sees it: probed by the readiness check and the start-up checks,
disposed at shutdown."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# The engine the app holds, whatever the mode.
ServiceEngine = AsyncEngine


async def ping(engine: AsyncEngine) -> None:
    """One round trip on a connection of its own."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def fetch_row(engine: AsyncEngine, sql: str) -> tuple[Any, ...]:
    """The one row of a query, on a connection of its own."""
    async with engine.connect() as connection:
        return tuple((await connection.execute(text(sql))).one())


async def dispose(engine: AsyncEngine) -> None:
    await engine.dispose()
