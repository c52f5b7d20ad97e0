"""The one module that talks to the broker (RabbitMQ, through pika's BlockingConnection): the
topology, the relay's confirmed publishing and the worker's deliveries. Nothing that serves a
request imports it (a `forbidden` contract in pyproject.toml): a request records its events in
the outbox, in its own transaction, and the relay publishes them after the commit.

The topology, declared by the relay and the worker alike (the declarations are idempotent):
a durable topic exchange EVENTS_EXCHANGE, the worker's durable queue EVENTS_QUEUE bound to it by
the kinds it handles, and its dead letters: the fanout exchange and queue "<queue>.dead".
"""

import signal
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError

from .messages import ATTEMPT_HEADER, CONTENT_TYPE, Message, dead_letter_name
from .settings import BrokerSettings

# What a lost or refused broker raises: the relay and the worker connect again after it.
BROKER_ERRORS: tuple[type[BaseException], ...] = (AMQPError, OSError)
# Seconds a worker waits for a delivery before it looks whether it was told to stop.
DELIVERY_POLL = 0.5
# Seconds between two looks at the Stop while idle.
IDLE_SLICE = 0.1
PERSISTENT = pika.DeliveryMode.Persistent


class Stop:
    """Set by SIGTERM or SIGINT (or by a test): the relay and the worker finish the batch or
    the message in hand, then return."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def install(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self._event.set())

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when told to stop meanwhile."""
        return self._event.wait(seconds)


class Delivery:
    """One message handed to the worker, with its fate: acknowledged, retried at the queue's
    tail (so a failing event never blocks the ones behind it) or dead-lettered."""

    def __init__(
        self, channel: BlockingChannel, method: Any, properties: Any, body: bytes, queue: str
    ) -> None:
        self._channel = channel
        self._tag = method.delivery_tag
        self._properties = properties
        self._queue = queue
        self.message_id: str | None = properties.message_id
        self.kind: str | None = properties.type
        self.body = body
        attempt = (properties.headers or {}).get(ATTEMPT_HEADER, 1)
        self.attempt = attempt if isinstance(attempt, int) else 1

    def ack(self) -> None:
        self._channel.basic_ack(self._tag)

    def requeue(self) -> None:
        """Give it back to the queue as it is, its attempt not counted."""
        self._channel.basic_nack(self._tag, requeue=True)

    def dead_letter(self) -> None:
        # Rejected without requeueing: the queue's dead-letter exchange takes it.
        self._channel.basic_reject(self._tag, requeue=False)

    def retry(self) -> None:
        """Publish it again, confirmed, at the queue's tail with its attempt counted, then
        acknowledge this delivery. A crash between the two delivers it twice: the worker's
        inbox absorbs the second."""
        headers = {**(self._properties.headers or {}), ATTEMPT_HEADER: self.attempt + 1}
        retried = pika.BasicProperties(
            message_id=self.message_id,
            type=self.kind,
            content_type=self._properties.content_type,
            delivery_mode=PERSISTENT,
            headers=headers,
        )
        self._channel.basic_publish("", self._queue, self.body, properties=retried, mandatory=True)
        self.ack()


class Broker:
    """A connection and a channel with publisher confirms, its topology declared."""

    def __init__(
        self,
        connection: pika.BlockingConnection,
        channel: BlockingChannel,
        settings: BrokerSettings,
    ) -> None:
        self._connection = connection
        self._channel = channel
        self._settings = settings

    def publish(self, messages: Sequence[Message]) -> None:
        """Publish every message, persistent, and return once the broker confirmed them all;
        raise if it refused one (then none of the batch is marked sent). A kind that no queue
        is bound to is dropped by the exchange, as publish-subscribe means: the worker's queue is
        declared, with its bindings, before the first message is published."""
        for message in messages:
            # With confirms on, basic_publish returns when the broker confirmed the message,
            # and raises NackError when it did not take it.
            self._channel.basic_publish(
                self._settings.events_exchange,
                message.kind,
                message.body,
                properties=pika.BasicProperties(
                    message_id=message.id,
                    type=message.kind,
                    content_type=CONTENT_TYPE,
                    delivery_mode=PERSISTENT,
                ),
            )

    def idle(self, stop: Stop, seconds: float) -> bool:
        """Wait up to `seconds` while serving the connection (its heartbeats: a connection left
        unserved for two heartbeat intervals is closed by the broker); True when told to stop."""
        deadline = time.monotonic() + seconds
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            self._connection.sleep(min(left, IDLE_SLICE))
        return stop.is_set()

    def deliveries(self, stop: Stop) -> Iterator[Delivery]:
        """The worker's queue, one message at a time (prefetch 1), until `stop` is set."""
        self._channel.basic_qos(prefetch_count=1)
        queue = self._settings.events_queue
        while not stop.is_set():
            method, properties, body = self._channel.basic_get(queue, auto_ack=False)
            if method is None:
                self.idle(stop, DELIVERY_POLL)
                continue
            yield Delivery(self._channel, method, properties, body, queue)


def declare_topology(
    channel: BlockingChannel, settings: BrokerSettings, kinds: Collection[str]
) -> None:
    channel.exchange_declare(settings.events_exchange, exchange_type="topic", durable=True)
    dead = dead_letter_name(settings.events_queue)
    channel.exchange_declare(dead, exchange_type="fanout", durable=True)
    channel.queue_declare(dead, durable=True)
    channel.queue_bind(dead, dead)
    channel.queue_declare(
        settings.events_queue, durable=True, arguments={"x-dead-letter-exchange": dead}
    )
    for kind in kinds:
        channel.queue_bind(settings.events_queue, settings.events_exchange, routing_key=kind)


@contextmanager
def connect(settings: BrokerSettings, kinds: Collection[str]) -> Iterator[Broker]:
    """A connection to the broker with the topology declared, closed on leaving. `kinds`: the
    event kinds the worker's queue receives (those it has handlers for)."""
    parameters = pika.URLParameters(settings.broker_url)
    parameters.socket_timeout = 10
    connection = pika.BlockingConnection(parameters)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        declare_topology(channel, settings, kinds)
        yield Broker(connection, channel, settings)
    finally:
        if connection.is_open:
            connection.close()
