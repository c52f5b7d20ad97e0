"""The engine as the event loop sees it: probed by the readiness check and the start-up checks,
disposed at shutdown."""

from typing import Any

import anyio
from sqlalchemy import Engine, text

# The engine the app holds, whatever the mode.
ServiceEngine = Engine


async def ping(engine: Engine) -> None:
    """One round trip on a connection of its own, in a worker thread.

    The blocking driver cannot be interrupted: a ping that overruns its caller's deadline is
    abandoned to its worker thread, and the caller goes on at once.
    """

    def run() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    await anyio.to_thread.run_sync(run, abandon_on_cancel=True)


async def fetch_row(engine: Engine, sql: str) -> tuple[Any, ...]:
    """The one row of a query, on a connection of its own, in a worker thread."""

    def run() -> tuple[Any, ...]:
        with engine.connect() as connection:
            return tuple(connection.execute(text(sql)).one())

    return await anyio.to_thread.run_sync(run)


async def dispose(engine: Engine) -> None:
    engine.dispose()
