"""The event worker (`python -m {{ cookiecutter.project_slug }} worker`): consumes the service's
queue and runs each event's handler as a unit of work outside a request.

Each delivery gets its own session (`job_session`: rolled back on error, always closed), one
commit with its inbox entry (`services.handle_event`), and log lines that carry its event id.
A handler that fails is retried at the queue's tail up to WORKER_MAX_ATTEMPTS deliveries, then
dead-lettered ("<queue>.dead"); a message that is not an event this worker reads is
dead-lettered at once. Neither stops the worker nor the messages behind it.
"""

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..database.errors import failure_of
from ..database.failures import Failure
from ..database.session import job_session
from ..messaging.broker import BROKER_ERRORS, Delivery, Stop, connect
from ..messaging.messages import MalformedEventError, read_event
from ..messaging.settings import BrokerSettings
from ..metrics import EVENTS_HANDLED
from ..request_context import event_var
from . import services
from .services import Handler

logger = logging.getLogger(__name__)

JOB = "worker"
# Failures of the database, not of the event: the event goes back to the queue without
# spending an attempt, and the worker pauses before the next one, so that a database outage
# never dead-letters the events that arrive during it.
DATABASE_AWAY = frozenset({Failure.UNAVAILABLE, Failure.LOST_CONNECTION, Failure.POOL_EXHAUSTED})


async def work(
    session_factory: async_sessionmaker[AsyncSession],
    settings: BrokerSettings,
    stop: Stop,
    *,
    handlers: Mapping[str, Handler],
) -> None:
    """Handle deliveries until `stop` is set, connecting again when the broker goes away (an
    unacknowledged delivery is then delivered again, and the inbox absorbs it)."""
    while not stop.is_set():
        try:
            async with connect(settings, handlers.keys()) as broker:
                logger.info("worker connected to the broker", extra={"job.name": JOB})
                async for delivery in broker.deliveries(stop):
                    outcome = await handle_delivery(
                        session_factory,
                        delivery,
                        settings,
                        handlers=handlers,
                    )
                    EVENTS_HANDLED.labels(kind=delivery.kind or "", outcome=outcome).inc()
                    if outcome == "requeued":
                        await broker.idle(stop, settings.broker_reconnect_interval)
        except BROKER_ERRORS as error:
            logger.warning("worker lost the broker (%r)", error, extra={"job.name": JOB})
            await stop.wait(settings.broker_reconnect_interval)


async def handle_delivery(
    session_factory: async_sessionmaker[AsyncSession],
    delivery: Delivery,
    settings: BrokerSettings,
    *,
    handlers: Mapping[str, Handler],
) -> str:
    """Handle one delivery and settle it; its outcome: "handled", "duplicate" (the inbox had
    it), "retried", "dead_lettered", or "requeued" (the database was away)."""
    with _event_context(delivery.message_id):
        try:
            event = read_event(delivery.message_id, delivery.kind, delivery.body)
            handler = handlers.get(event.kind)
            if handler is None:
                raise MalformedEventError(f"a {event.kind!r} event, which no handler takes")
            async with job_session(session_factory, JOB) as session:
                handled = await services.handle_event(
                    session,
                    event,
                    handler,
                    consumer=settings.events_queue,
                )
        except MalformedEventError as error:
            logger.error("event dead-lettered: %s", error, extra={"job.name": JOB})
            await delivery.dead_letter()
            return "dead_lettered"
        except Exception as error:
            failure = failure_of(error)
            if failure is not None and failure.kind in DATABASE_AWAY:
                logger.warning(
                    "event returned to the queue: the database is away (%s)",
                    failure.kind,
                    extra={"job.name": JOB},
                )
                await delivery.requeue()
                return "requeued"
            if delivery.attempt >= settings.worker_max_attempts:
                logger.exception(
                    "event dead-lettered after %d attempts",
                    delivery.attempt,
                    extra={"job.name": JOB},
                )
                await delivery.dead_letter()
                return "dead_lettered"
            logger.exception(
                "event handler failed (attempt %d of %d): retried",
                delivery.attempt,
                settings.worker_max_attempts,
                extra={"job.name": JOB},
            )
            await delivery.retry()
            return "retried"
        await delivery.ack()
        return "handled" if handled else "duplicate"


@contextmanager
def _event_context(event_id: str | None) -> Iterator[None]:
    # Log lines meanwhile carry the event's id where a request's carry the request id.
    token = event_var.set(event_id)
    try:
        yield
    finally:
        event_var.reset(token)
