"""The relay's and the worker's loops run beside a test, as their processes would run them, and
one batch of the relay, whole or crashing between the confirms and the commit."""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from {{ cookiecutter.project_slug }}.database.session import job_session
from {{ cookiecutter.project_slug }}.inbox.registry import HANDLERS
from {{ cookiecutter.project_slug }}.inbox.services import Handler
from {{ cookiecutter.project_slug }}.messaging.broker import Stop, connect
from {{ cookiecutter.project_slug }}.messaging.messages import Event, Message
from {{ cookiecutter.project_slug }}.messaging.settings import BrokerSettings
from {{ cookiecutter.project_slug }}.outbox.relay import JOB
from {{ cookiecutter.project_slug }}.outbox.services import Publisher, relay_batch


@asynccontextmanager
async def in_background(
    function: Callable[..., Any], *args: Any, **kwargs: Any
) -> AsyncIterator[Stop]:
    """Run `function(*args, stop, **kwargs)` meanwhile (a loop that returns once its Stop is
    set: outbox/relay.py's `relay`, inbox/worker.py's `work`); on leaving, stop it and wait."""
    stop = Stop()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(partial(function, *args, stop, **kwargs))
        try:
            yield stop
        finally:
            stop.set()


class RelayCrashed(RuntimeError):
    """The relay's process died between the broker's confirms and the commit that marks them."""


class CrashAfterPublishing:
    """A publisher that publishes (confirmed) and then fails, as a relay killed mid-batch."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    async def publish(self, messages: Sequence[Message]) -> None:
        await self._publisher.publish(messages)
        raise RelayCrashed


async def relay_pass(
    session_factory: async_sessionmaker[AsyncSession],
    settings: BrokerSettings,
    *,
    crash_after_publishing: bool = False,
) -> int:
    """One batch of the relay (outbox/services.py's `relay_batch`), as `relay` runs it."""
    async with connect(settings, HANDLERS.keys()) as broker:
        publisher: Publisher = CrashAfterPublishing(broker) if crash_after_publishing else broker
        async with job_session(session_factory, JOB) as session:
            return await relay_batch(session, publisher, limit=settings.relay_batch_size)


class Poisoned(RuntimeError):
    """A handler's failure that no retry mends."""


def poisoned(handler: Handler, *, order_id: int) -> Handler:
    """`handler`, failing on every delivery of the events of one order."""

    async def handle(session: AsyncSession, event: Event) -> None:
        if event.payload.get("order_id") == order_id:
            raise Poisoned(order_id)
        await handler(session, event)

    return handle
