"""The one module that talks to the broker (RabbitMQ, through aio-pika): the topology, the
relay's confirmed publishing and the worker's deliveries. Nothing that serves a request imports
it (a `forbidden` contract in pyproject.toml): a request records its events in the outbox, in its
own transaction, and the relay publishes them after the commit.

The topology, declared by the relay and the worker alike (the declarations are idempotent):
a durable topic exchange EVENTS_EXCHANGE, the worker's durable queue EVENTS_QUEUE bound to it by
the kinds it handles, and its dead letters: the fanout exchange and queue "<queue>.dead".
"""

import asyncio
import signal
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from aiormq.exceptions import AMQPError, ChannelInvalidStateError

from .messages import ATTEMPT_HEADER, CONTENT_TYPE, Message, dead_letter_name
from .settings import BrokerSettings

# What a lost or refused broker raises: the relay and the worker connect again after it.
# (A channel closed under a publish raises ChannelInvalidStateError, a RuntimeError.)
BROKER_ERRORS: tuple[type[BaseException], ...] = (AMQPError, ChannelInvalidStateError, OSError)
# Seconds a worker waits for a delivery before it looks whether it was told to stop.
DELIVERY_POLL = 0.5


class Stop:
    """Set by SIGTERM or SIGINT (or by a test): the relay and the worker finish the batch or
    the message in hand, then return."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._event.set)

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when told to stop meanwhile."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True


class Delivery:
    """One message handed to the worker, with its fate: acknowledged, retried at the queue's
    tail (so a failing event never blocks the ones behind it) or dead-lettered."""

    def __init__(
        self, incoming: AbstractIncomingMessage, channel: AbstractChannel, queue: str
    ) -> None:
        self._incoming = incoming
        self._channel = channel
        self._queue = queue
        self.message_id = incoming.message_id
        self.kind = incoming.type
        self.body = incoming.body
        attempt = (incoming.headers or {}).get(ATTEMPT_HEADER, 1)
        self.attempt = attempt if isinstance(attempt, int) else 1

    async def ack(self) -> None:
        await self._incoming.ack()

    async def requeue(self) -> None:
        """Give it back to the queue as it is, its attempt not counted."""
        await self._incoming.nack(requeue=True)

    async def dead_letter(self) -> None:
        # Rejected without requeueing: the queue's dead-letter exchange takes it.
        await self._incoming.reject(requeue=False)

    async def retry(self) -> None:
        """Publish it again, confirmed, at the queue's tail with its attempt counted, then
        acknowledge this delivery. A crash between the two delivers it twice: the worker's
        inbox absorbs the second."""
        retried = aio_pika.Message(
            self._incoming.body,
            message_id=self._incoming.message_id,
            type=self._incoming.type,
            content_type=self._incoming.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers={**(self._incoming.headers or {}), ATTEMPT_HEADER: self.attempt + 1},
        )
        await self._channel.default_exchange.publish(retried, routing_key=self._queue)
        await self._incoming.ack()


class Broker:
    """A connection and a channel with publisher confirms, its topology declared."""

    def __init__(self, channel: AbstractChannel, settings: BrokerSettings) -> None:
        self._channel = channel
        self._settings = settings

    async def publish(self, messages: Sequence[Message]) -> None:
        """Publish every message, persistent, and return once the broker confirmed them all;
        raise if it refused one (then none of the batch is marked sent). A kind that no queue
        is bound to is dropped by the exchange, as publish-subscribe means: the worker's queue is
        declared, with its bindings, before the first message is published."""
        exchange = await self._channel.get_exchange(self._settings.events_exchange)
        confirms = [
            exchange.publish(
                aio_pika.Message(
                    message.body,
                    message_id=message.id,
                    type=message.kind,
                    content_type=CONTENT_TYPE,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=message.kind,
                mandatory=False,
            )
            for message in messages
        ]
        # In flight together, confirmed together: one round trip per batch, not per message.
        await asyncio.gather(*confirms)

    async def idle(self, stop: Stop, seconds: float) -> bool:
        """Wait up to `seconds` (aio-pika serves the connection's heartbeats meanwhile); True
        when told to stop."""
        return await stop.wait(seconds)

    async def deliveries(self, stop: Stop) -> AsyncIterator[Delivery]:
        """The worker's queue, one message at a time (prefetch 1), until `stop` is set."""
        await self._channel.set_qos(prefetch_count=1)
        queue = await self._channel.get_queue(self._settings.events_queue)
        while not stop.is_set():
            incoming = await queue.get(fail=False, no_ack=False, timeout=DELIVERY_POLL)
            if incoming is None:
                await self.idle(stop, DELIVERY_POLL)
                continue
            yield Delivery(incoming, self._channel, queue.name)


async def declare_topology(
    channel: AbstractChannel, settings: BrokerSettings, kinds: Collection[str]
) -> AbstractQueue:
    exchange = await channel.declare_exchange(
        settings.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    dead = dead_letter_name(settings.events_queue)
    dead_exchange = await channel.declare_exchange(dead, aio_pika.ExchangeType.FANOUT, durable=True)
    dead_queue = await channel.declare_queue(dead, durable=True)
    await dead_queue.bind(dead_exchange)
    queue = await channel.declare_queue(
        settings.events_queue, durable=True, arguments={"x-dead-letter-exchange": dead}
    )
    for kind in kinds:
        await queue.bind(exchange, routing_key=kind)
    return queue


@asynccontextmanager
async def connect(settings: BrokerSettings, kinds: Collection[str]) -> AsyncIterator[Broker]:
    """A connection to the broker with the topology declared, closed on leaving. `kinds`: the
    event kinds the worker's queue receives (those it has handlers for)."""
    connection = await aio_pika.connect(settings.broker_url, timeout=10)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await declare_topology(channel, settings, kinds)
        yield Broker(channel, settings)
    finally:
        await connection.close()
