"""Units of work outside requests, from the command line (`python -m <package> <command>`).

Each command runs its work as units of work of the resources' `services.py`, each with a
session from `database/session.py`'s `job_session`: the same rules as a request's (rolled
back on any error, always closed, one commit per unit of work), and log lines that carry the
job's name. Exit status 0 when the work is done, 1 when a unit of work failed.
"""

import argparse
import asyncio
import logging
import time
from collections.abc import Sequence

from .database.session import create_engine_from_settings, create_session_factory, job_session
from .errors import CLIENT_ERRORS
from .idempotency import services as idempotency
from .logs import configure_logging
from .settings import Settings, get_settings

logger = logging.getLogger(__name__)

PURGE = "purge-idempotency-keys"
# Keys deleted per unit of work: each batch is one short transaction (its locks are held for
# one batch only), and a failure loses at most the batch in progress, which rolls back whole.
DEFAULT_BATCH_SIZE = 1000


async def purge_idempotency_keys(settings: Settings, *, batch_size: int) -> int:
    """Delete the keys older than IDEMPOTENCY_KEY_RETENTION, a batch per unit of work, until
    none is left; the number deleted. Several replicas may run it at once: a batch skips the
    rows another one has locked (SKIP LOCKED, where the database locks rows; where it does not,
    its writers take turns)."""
    engine = create_engine_from_settings(settings, metrics_enabled=False)
    session_factory = create_session_factory(
        engine, settings, metrics_enabled=False, client_errors=CLIENT_ERRORS
    )
    before = int(time.time()) - settings.idempotency_key_retention
    purged = 0
    try:
        while True:
            async with job_session(session_factory, PURGE) as session:
                deleted = await idempotency.purge_expired(session, before=before, limit=batch_size)
            purged += deleted
            if deleted < batch_size:
                break
    finally:
        await engine.dispose()
    logger.info("purged %d expired idempotency keys", purged, extra={"job.name": PURGE})
    return purged


def parser() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser(
        prog="python -m {{ cookiecutter.project_slug }}", description=__doc__.split("\n")[0]
    )
    chosen = commands.add_subparsers(dest="command", required=True)
    purge = chosen.add_parser(
        PURGE,
        help="delete idempotency keys older than IDEMPOTENCY_KEY_RETENTION (for a cron job)",
    )
    purge.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N")
    return commands


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    if arguments.batch_size < 1:
        parser().error("--batch-size must be at least 1")
    settings = get_settings()
    if settings.log_configure:
        configure_logging(settings)
    try:
        asyncio.run(purge_idempotency_keys(settings, batch_size=arguments.batch_size))
    except Exception:
        logger.exception("%s failed", arguments.command, extra={"job.name": arguments.command})
        return 1
    return 0
