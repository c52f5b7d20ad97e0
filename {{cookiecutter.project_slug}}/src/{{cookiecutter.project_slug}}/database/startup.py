"""The start-up checks of a process that is not the web app (the relay, the event worker): the
ones the app's lifespan runs, on a connection of their own, before the process starts work.
Written for the event loop whatever the mode (as `engine.py` is), and run in a loop of its own."""

from functools import partial

import anyio

from .dialect import DialectSettings, check_connection_budget
from .engine import dispose
from .session import create_probe_engine


async def start_up_checks(settings: DialectSettings, *, workers: int) -> None:
    engine = create_probe_engine(settings)
    try:
        await check_connection_budget(engine, settings, workers=workers)
    finally:
        await dispose(engine)


def run_start_up_checks(settings: DialectSettings, *, workers: int) -> None:
    """Raise what a failed check raises (ConnectionBudgetError): the process exits 1."""
    anyio.run(partial(start_up_checks, settings, workers=workers))
