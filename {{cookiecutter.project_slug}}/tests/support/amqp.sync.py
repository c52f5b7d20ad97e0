"""The machine's RabbitMQ as the tests see it, through the service's own client (pika, in a
worker thread): what sits in a queue, a raw message the relay would never send, and the removal
of a test's exchanges and queues. Each test names its own (`broker_names`), so runs never
meet."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio
import pika
from pika.adapters.blocking_connection import BlockingChannel

from {{ cookiecutter.project_slug }}.messaging.messages import dead_letter_name
from {{ cookiecutter.project_slug }}.messaging.settings import BrokerSettings

from .queues import BROKER_URL, Received

T = TypeVar("T")


@contextmanager
def channel(url: str = BROKER_URL) -> Iterator[BlockingChannel]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        yield connection.channel()
    finally:
        connection.close()


async def _in_thread(work: Callable[[BlockingChannel], T], url: str) -> T:
    def run() -> T:
        with channel(url) as opened:
            return work(opened)

    return await anyio.to_thread.run_sync(run)


async def drain(settings: BrokerSettings, queue: str) -> list[Received]:
    """Take every message out of `queue` (acknowledged: they are gone)."""

    def take(opened: BlockingChannel) -> list[Received]:
        received: list[Received] = []
        while True:
            method, properties, body = opened.basic_get(queue, auto_ack=True)
            if method is None:
                return received
            received.append(
                Received(properties.message_id, properties.type, properties.headers or {}, body)
            )

    return await _in_thread(take, settings.broker_url)


async def queue_size(settings: BrokerSettings, queue: str) -> int:
    def size(opened: BlockingChannel) -> int:
        return int(opened.queue_declare(queue, passive=True).method.message_count)

    return await _in_thread(size, settings.broker_url)


async def publish_raw(settings: BrokerSettings, body: bytes, **properties: Any) -> None:
    """A message published straight to the worker's queue, as no relay would send it."""

    def publish(opened: BlockingChannel) -> None:
        opened.basic_publish(
            "", settings.events_queue, body, properties=pika.BasicProperties(**properties)
        )

    await _in_thread(publish, settings.broker_url)


async def remove_topology(settings: BrokerSettings) -> None:
    dead = dead_letter_name(settings.events_queue)

    def remove(opened: BlockingChannel) -> None:
        for queue in (settings.events_queue, dead):
            opened.queue_delete(queue)
        for exchange in (settings.events_exchange, dead):
            opened.exchange_delete(exchange)

    await _in_thread(remove, settings.broker_url)
