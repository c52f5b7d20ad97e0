"""The machine's RabbitMQ as the tests see it, through the service's own client (aio-pika):
what sits in a queue, a raw message the relay would never send, and the removal of a test's
exchanges and queues. Each test names its own (queues.py's `broker_names`), so runs never
meet."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel

from {{ cookiecutter.project_slug }}.messaging.messages import dead_letter_name
from {{ cookiecutter.project_slug }}.messaging.settings import BrokerSettings

from .queues import BROKER_URL, Received


@asynccontextmanager
async def channel(url: str = BROKER_URL) -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect(url)
    try:
        yield await connection.channel()
    finally:
        await connection.close()


async def drain(settings: BrokerSettings, queue: str) -> list[Received]:
    """Take every message out of `queue` (acknowledged: they are gone)."""
    received = []
    async with channel(settings.broker_url) as opened:
        declared = await opened.get_queue(queue)
        while (message := await declared.get(fail=False)) is not None:
            await message.ack()
            received.append(
                Received(message.message_id, message.type, dict(message.headers), message.body)
            )
    return received


async def queue_size(settings: BrokerSettings, queue: str) -> int:
    async with channel(settings.broker_url) as opened:
        declared = await opened.declare_queue(queue, passive=True)
        count = declared.declaration_result.message_count
        return int(count or 0)


async def publish_raw(settings: BrokerSettings, body: bytes, **properties: Any) -> None:
    """A message published straight to the worker's queue, as no relay would send it."""
    async with channel(settings.broker_url) as opened:
        await opened.default_exchange.publish(
            aio_pika.Message(body, **properties), routing_key=settings.events_queue
        )


async def remove_topology(settings: BrokerSettings) -> None:
    dead = dead_letter_name(settings.events_queue)
    async with channel(settings.broker_url) as opened:
        for queue in (settings.events_queue, dead):
            await opened.queue_delete(queue)
        for exchange in (settings.events_exchange, dead):
            await opened.exchange_delete(exchange)
