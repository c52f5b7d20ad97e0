"""Units of work outside requests, and the server, from the command line
(`python -m <package> <command>`).

Each job runs its work as units of work of the resources' `services.py`, each with a session
from `database/session.py`'s `job_session`: the same rules as a request's (rolled back on any
error, always closed, one commit per unit of work), and log lines that carry the job's name.
`relay` and `worker` run until SIGTERM (or SIGINT), finish the batch or the event in hand and
exit 0. Exit status 1 when a unit of work failed, 3 (uvicorn's own for a failed start) when the
settings or a start-up check refused.
"""

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from prometheus_client import start_http_server
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from uvicorn.config import STARTUP_FAILURE
from uvicorn.main import main as uvicorn_command

from . import metrics
from .database.failures import StartupCheckError
from .database.session import create_engine_from_settings, create_session_factory, job_session
from .database.startup import check_before_serving
from .database.tracing import stop_tracing_statements
from .errors import CLIENT_ERRORS
from .idempotency import services as idempotency
from .inbox import services as inbox
from .inbox.registry import HANDLERS
from .inbox.worker import work
from .logs import configure_logging
from .messaging.broker import Stop
from .outbox import services as outbox
from .outbox.relay import relay
from .settings import Settings, get_settings
from .tracing.provider import service_tracer, start_tracing

logger = logging.getLogger(__name__)

PURGE = "purge-idempotency-keys"
PURGE_EVENTS = "purge-events"
RELAY = "relay"
WORKER = "worker"
SERVE = "serve"
APP = "{{ cookiecutter.project_slug }}.main:app"
# Named once, so that no line's length (and ruff's formatting of it) depends on the slug's.
PROG = "python -m {{ cookiecutter.project_slug }}"
# Keys deleted per unit of work: each batch is one short transaction (its locks are held for
# one batch only), and a failure loses at most the batch in progress, which rolls back whole.
DEFAULT_BATCH_SIZE = 1000
# A relay or a worker does one unit of work at a time: one connection is all it holds (the
# connection budget counts it: RELAY_PROCESSES and WORKER_PROCESSES x JOB_CONNECTIONS).
JOB_POOL = {"pool_size": 1, "max_overflow": 0}


@asynccontextmanager
async def job_database(
    settings: Settings,
    *,
    metrics_enabled: bool,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The job's session factory, on an engine of its own, disposed when the job ends. With
    traces on, each unit of work is a span of this process's provider, its statements its
    children, and what is still queued is exported before the process exits."""
    tracer_provider = start_tracing(settings)
    engine = create_engine_from_settings(
        settings, metrics_enabled=metrics_enabled, tracer_provider=tracer_provider
    )
    session_factory = create_session_factory(
        engine,
        settings,
        metrics_enabled=metrics_enabled,
        client_errors=CLIENT_ERRORS,
        tracer=service_tracer(tracer_provider),
    )
    try:
        yield session_factory
    finally:
        await engine.dispose()
        if tracer_provider is not None:
            stop_tracing_statements()
            tracer_provider.shutdown()


async def purge_idempotency_keys(settings: Settings, *, batch_size: int) -> int:
    """Delete the keys older than IDEMPOTENCY_KEY_RETENTION, a batch per unit of work, until
    none is left; the number deleted. Several replicas may run it at once: a batch skips the
    rows another one has locked (SKIP LOCKED, where the database locks rows; where it does not,
    its writers take turns)."""
    before = int(time.time()) - settings.idempotency_key_retention
    purged = 0
    async with job_database(settings, metrics_enabled=False) as session_factory:
        while True:
            async with job_session(session_factory, PURGE) as session:
                deleted = await idempotency.purge_expired(session, before=before, limit=batch_size)
            purged += deleted
            if deleted < batch_size:
                break
    logger.info("purged %d expired idempotency keys", purged, extra={"job.name": PURGE})
    return purged


async def purge_events(settings: Settings, *, batch_size: int) -> int:
    """Delete the outbox rows sent, and the inbox entries written, more than EVENT_RETENTION
    seconds ago, a batch per unit of work, until none is left; the number deleted. Rows not yet
    sent are never deleted. Several replicas may run it at once, as the keys' purge."""
    before = int(time.time()) - settings.event_retention
    purged = 0
    async with job_database(settings, metrics_enabled=False) as session_factory:
        for purge in (outbox.purge_sent, inbox.purge_handled):
            while True:
                async with job_session(session_factory, PURGE_EVENTS) as session:
                    deleted = await purge(session, before=before, limit=batch_size)
                purged += deleted
                if deleted < batch_size:
                    break
    logger.info("purged %d old events", purged, extra={"job.name": PURGE_EVENTS})
    return purged


async def run_relay(settings: Settings, *, metrics_enabled: bool) -> None:
    """Publish the outbox's events until SIGTERM (outbox/relay.py)."""
    job_settings = settings.model_copy(update=JOB_POOL)
    stop = Stop()
    stop.install()
    async with job_database(job_settings, metrics_enabled=metrics_enabled) as session_factory:
        sent = await relay(session_factory, settings, stop, kinds=HANDLERS.keys())
    logger.info("relay stopped after %d events", sent, extra={"job.name": RELAY})


async def run_worker(settings: Settings, *, metrics_enabled: bool) -> None:
    """Handle the events of the service's queue until SIGTERM (inbox/worker.py)."""
    job_settings = settings.model_copy(update=JOB_POOL)
    stop = Stop()
    stop.install()
    async with job_database(job_settings, metrics_enabled=metrics_enabled) as session_factory:
        await work(session_factory, settings, stop, handlers=HANDLERS)
    logger.info("worker stopped", extra={"job.name": WORKER})


def load_settings(command: str) -> Settings | None:
    """The settings, or None after one line naming each invalid one (as the environment spells
    it) on stderr."""
    try:
        return get_settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']).upper()}: {problem['msg']}"
            for problem in error.errors()
        )
        sys.stderr.write(f"Invalid settings, not starting {command}: {problems}\n")
        return None


def passes_start_up_checks(settings: Settings, command: str) -> bool:
    """The start-up checks (database/startup.py), once, before the process starts its work."""
    try:
        check_before_serving(settings, workers=settings.web_concurrency)
    except StartupCheckError as error:
        logger.error("%s", error, extra={"job.name": command})
        return False
    return True


def serve(uvicorn_options: Sequence[str]) -> int:
    """`uvicorn <package>.main:app <uvicorn_options>`, after the settings and the start-up checks
    (database/startup.py) have passed once here, before any worker starts: with several workers
    uvicorn's supervisor exits 0 when one fails to start, so the checks that refuse do it here,
    with one line and status 3 (uvicorn's own for a failed start)."""
    settings = load_settings(SERVE)
    if settings is None:
        return STARTUP_FAILURE
    if settings.log_configure:
        configure_logging(settings)
    if not passes_start_up_checks(settings, SERVE):
        return STARTUP_FAILURE
    # This process supervises and serves nothing: its metrics (zeros) leave the workers' sums.
    metrics.mark_process_dead()
    # uvicorn's own command line, options and UVICORN_* variables alike; it exits the process.
    uvicorn_command.main(
        args=[APP, *uvicorn_options],
        prog_name=f"python -m {{ cookiecutter.project_slug }} {SERVE}",
    )


def parser() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    chosen = commands.add_subparsers(dest="command", required=True)
    purge = chosen.add_parser(
        PURGE,
        help="delete idempotency keys older than IDEMPOTENCY_KEY_RETENTION (for a cron job)",
    )
    purge.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N")
    purge_old_events = chosen.add_parser(
        PURGE_EVENTS,
        help="delete sent outbox rows and inbox entries older than EVENT_RETENTION (cron job)",
    )
    purge_old_events.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
    )
    for name, help_text in (
        (RELAY, "publish the outbox's events to the broker, until SIGTERM"),
        (WORKER, "handle the events of EVENTS_QUEUE, until SIGTERM"),
    ):
        job = chosen.add_parser(name, help=help_text)
        job.add_argument(
            "--metrics-port",
            type=int,
            metavar="PORT",
            help="serve Prometheus metrics at http://0.0.0.0:PORT/metrics",
        )
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
    if arguments.command in (PURGE, PURGE_EVENTS) and arguments.batch_size < 1:
        parser().error("--batch-size must be at least 1")
    settings = load_settings(arguments.command)
    if settings is None:
        return STARTUP_FAILURE
    if settings.log_configure:
        configure_logging(settings)
    long_running = arguments.command in (RELAY, WORKER)
    if long_running and not passes_start_up_checks(settings, arguments.command):
        return STARTUP_FAILURE
    metrics_port: int | None = getattr(arguments, "metrics_port", None)
    if metrics_port is not None:
        start_http_server(metrics_port)
    try:
        if arguments.command == RELAY:
            asyncio.run(run_relay(settings, metrics_enabled=metrics_port is not None))
        elif arguments.command == WORKER:
            asyncio.run(run_worker(settings, metrics_enabled=metrics_port is not None))
        elif arguments.command == PURGE_EVENTS:
            asyncio.run(purge_events(settings, batch_size=arguments.batch_size))
        else:
            asyncio.run(purge_idempotency_keys(settings, batch_size=arguments.batch_size))
    except Exception:
        logger.exception("%s failed", arguments.command, extra={"job.name": arguments.command})
        return 1
    return 0
