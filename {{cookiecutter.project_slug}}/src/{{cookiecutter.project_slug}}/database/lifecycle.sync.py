"""The engine as the event loop sees it: probed by the readiness check, disposed at shutdown."""

import anyio
from sqlalchemy import Engine, text


async def ping(engine: Engine) -> None:
    """One round trip on a connection of its own, in a worker thread.

    The blocking driver cannot be interrupted: a ping that overruns its caller's deadline is
    abandoned to its worker thread, and the caller goes on at once.
    """

    def run() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    await anyio.to_thread.run_sync(run, abandon_on_cancel=True)


async def dispose(engine: Engine) -> None:
    engine.dispose()
