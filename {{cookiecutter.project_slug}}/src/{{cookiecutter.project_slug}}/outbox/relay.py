"""The relay (`python -m {{ cookiecutter.project_slug }} relay`): publishes the outbox's
committed events to the broker, in batches, and marks them sent once the broker confirmed them.

Each batch is one unit of work outside a request (`job_session`): claimed with FOR UPDATE SKIP
LOCKED, so several relays share the outbox without publishing a row twice in one pass, and
marked sent in the same transaction after the confirms, so a relay killed mid-batch leaves no
row marked that the broker did not take. With the broker away, rows wait in the outbox (requests
never touch the broker) and the relay connects again every BROKER_RECONNECT_INTERVAL seconds.
"""

import logging
from collections.abc import Collection

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..database.session import job_session
from ..messaging.broker import BROKER_ERRORS, Stop, connect
from ..messaging.settings import BrokerSettings
from ..metrics import EVENTS_RELAYED
from . import services

logger = logging.getLogger(__name__)

JOB = "relay"
# A batch that fails on these is tried again later: the rows wait, nothing is marked sent.
PASSING_FAILURES: tuple[type[BaseException], ...] = (*BROKER_ERRORS, DBAPIError)


async def relay(
    session_factory: async_sessionmaker[AsyncSession],
    settings: BrokerSettings,
    stop: Stop,
    *,
    kinds: Collection[str],
) -> int:
    """Relay until `stop` is set; the number of events sent. `kinds`: the event kinds the
    service's own worker queue is bound to (declared before the first publish)."""
    sent = 0
    while not stop.is_set():
        try:
            async with connect(settings, kinds) as broker:
                logger.info("relay connected to the broker", extra={"job.name": JOB})
                while not stop.is_set():
                    async with job_session(session_factory, JOB) as session:
                        batch = await services.relay_batch(
                            session,
                            broker,
                            limit=settings.relay_batch_size,
                        )
                    sent += batch
                    EVENTS_RELAYED.inc(batch)
                    if batch < settings.relay_batch_size:
                        await broker.idle(stop, settings.relay_poll_interval)
        except PASSING_FAILURES as error:
            logger.warning(
                "relay paused (%r): the outbox keeps its events",
                error,
                extra={"job.name": JOB},
            )
            await stop.wait(settings.broker_reconnect_interval)
    return sent
