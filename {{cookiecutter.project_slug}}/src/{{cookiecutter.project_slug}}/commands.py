"""Units of work outside requests, from the command line (`python -m <package> <command>`).

Each command runs its work as units of work of the resources' `services.py`, each with a
session from `database/session.py`'s `job_session`: the same rules as a request's (rolled
back on any error, always closed, one commit per unit of work), and log lines that carry the
job's name. Exit status 0 when the work is done, 1 when a unit of work failed.
"""

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Sequence

from pydantic import ValidationError
from uvicorn.config import STARTUP_FAILURE
from uvicorn.main import main as uvicorn_command

from . import metrics
from .database.failures import StartupCheckError
from .database.session import create_engine_from_settings, create_session_factory, job_session
from .database.startup import check_before_serving
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


SERVE = "serve"
APP = "{{ cookiecutter.project_slug }}.main:app"


def serve(uvicorn_options: Sequence[str]) -> int:
    """`uvicorn <package>.main:app <uvicorn_options>`, after the settings and the start-up checks
    (database/startup.py) have passed once here, before any worker starts: with several workers
    uvicorn's supervisor exits 0 when one fails to start, so the checks that refuse do it here,
    with one line and status 3 (uvicorn's own for a failed start)."""
    try:
        settings = get_settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']).upper()}: {problem['msg']}"
            for problem in error.errors()
        )
        sys.stderr.write(f"Invalid settings, not serving: {problems}\n")
        return STARTUP_FAILURE
    if settings.log_configure:
        configure_logging(settings)
    try:
        check_before_serving(settings, workers=settings.web_concurrency)
    except StartupCheckError as error:
        logger.error("%s", error, extra={"job.name": SERVE})
        return STARTUP_FAILURE
    # This process supervises and serves nothing: its metrics (zeros) leave the workers' sums.
    metrics.mark_process_dead()
    # uvicorn's own command line, options and UVICORN_* variables alike; it exits the process.
    uvicorn_command.main(
        args=[APP, *uvicorn_options],
        prog_name=f"python -m {{ cookiecutter.project_slug }} {SERVE}",
    )


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
    # Every argument after the command is uvicorn's: "+" prefixes, so that none is taken here.
    served = chosen.add_parser(
        SERVE, prefix_chars="+", add_help=False, help="serve the app with uvicorn (its options)"
    )
    served.add_argument("uvicorn_options", nargs=argparse.REMAINDER)
    return commands


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    if arguments.command == SERVE:
        return serve(arguments.uvicorn_options)
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
