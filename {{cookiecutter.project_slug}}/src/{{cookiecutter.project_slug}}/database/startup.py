"""The start-up checks: what must hold before the service serves, each refusing to start with
one line (a `StartupCheckError`) that names the setting to change.

Every worker runs them in the app's lifespan. They do not depend on the worker, so
`python -m <package> serve` also runs them once before uvicorn starts its workers: a refused
start then exits with a failure status however many workers there are (uvicorn's supervisor
exits 0 when a worker fails to start). A database that does not answer is not a refusal: the
service starts, and readiness says 503 until it answers.
"""

import asyncio

from .dialect import DialectSettings, check_connection_budget, check_database_pooler
from .engine import ServiceEngine, dispose
from .session import create_engine_from_settings


async def check_at_start_up(
    engine: ServiceEngine, settings: DialectSettings, *, workers: int
) -> None:
    """Raise StartupCheckError when a check refuses. `workers`: WEB_CONCURRENCY. The pooler
    first: a forgotten DATABASE_POOLER can make the budget's query fail too."""
    await check_database_pooler(engine, settings)
    await check_connection_budget(engine, settings, workers=workers)


async def check_with_own_engine(settings: DialectSettings, *, workers: int) -> None:
    engine = create_engine_from_settings(settings, metrics_enabled=False)
    try:
        await check_at_start_up(engine, settings, workers=workers)
    finally:
        await dispose(engine)


def check_before_serving(settings: DialectSettings, *, workers: int) -> None:
    """The checks once, on an engine of their own that is disposed before any worker starts."""
    asyncio.run(check_with_own_engine(settings, workers=workers))
