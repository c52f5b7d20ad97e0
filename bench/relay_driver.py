"""The outbox relay's events per second, in a baked service's own environment (issue 24).

    PYTHON relay_driver.py PACKAGE --events N [--limit SECONDS]

Run by bench/relay.py with the baked service's Python, in its directory, with its settings in
the environment (DATABASE_URL, BROKER_URL, EVENTS_EXCHANGE, EVENTS_QUEUE, RELAY_BATCH_SIZE):
empties `outbox_events`, inserts N unsent `order.placed` rows in one statement, then runs the
service's own relay loop (`outbox.relay.relay`, as `python -m PACKAGE relay` does: one
connection from the job pool, the topology declared, batches of RELAY_BATCH_SIZE claimed with
FOR UPDATE SKIP LOCKED, published with publisher confirms and marked sent in one transaction)
until every row is marked sent, or `--limit` seconds. The clock starts at the first batch (after
the broker's connection and topology) and stops when the batch that sent the last row has
committed: `outbox.services.relay_batch` is wrapped here to count, the relay itself is not
changed. Then checks that no row is left unsent and that the queue holds the N messages, deletes
the run's exchanges and queues, and prints one line `RELAY {json}`.

Standalone: it imports nothing from bench (this package is not importable in that environment).
"""

import argparse
import asyncio
import importlib
import inspect
import json
import threading
import time
from typing import Any

PAYLOAD = '{"order_id":%d,"lines":[{"item_id":10001,"quantity":1},{"item_id":10002,"quantity":1}]}'


class Counting:
    """`relay_batch` wrapped: the batches, the events they sent, the clock and CPU between the
    first batch's start and the end of the one that sent the last event; stops the relay then."""

    def __init__(self, events: int, stop: Any) -> None:
        self.events, self.stop = events, stop
        self.sent = self.batches = 0
        self.started = self.ended = self.cpu_started = self.cpu_ended = 0.0

    def begin(self) -> None:
        if not self.batches:
            self.started, self.cpu_started = time.perf_counter(), time.process_time()
        self.batches += 1

    def end(self, sent: int) -> None:
        self.sent += sent
        if self.sent >= self.events and not self.ended:
            self.ended, self.cpu_ended = time.perf_counter(), time.process_time()
            self.stop.set()

    def result(self) -> dict[str, Any]:
        ended = self.ended or time.perf_counter()
        cpu_ended = self.cpu_ended or time.process_time()
        seconds = ended - self.started if self.batches else 0.0
        return {
            "sent": self.sent,
            "batches": self.batches,
            "seconds": seconds,
            "events_per_second": self.sent / seconds if seconds else 0.0,
            "cpu_us_per_event": 1e6 * (cpu_ended - self.cpu_started) / max(1, self.sent),
            "complete": bool(self.ended),
        }


def rows(events: int, kind: str) -> list[dict[str, Any]]:
    import uuid

    now = int(time.time())
    return [
        {
            "event_id": str(uuid.uuid4()),
            "kind": kind,
            "payload": PAYLOAD % n,
            "created_at": now,
            "sent_at": None,
        }
        for n in range(events)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package")
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--limit", type=float, default=60.0, help="seconds before giving up")
    args = parser.parse_args()

    def module(name: str) -> Any:
        return importlib.import_module(f"{args.package}.{name}")

    commands, relay, services = (
        module("commands"),
        module("outbox.relay"),
        module("outbox.services"),
    )
    models, broker, orders = (
        module("outbox.models"),
        module("messaging.broker"),
        module("orders.events"),
    )
    settings = module("settings").get_settings()
    kinds = list(module("inbox.registry").HANDLERS.keys())
    engine, factory = commands.job_database(
        settings.model_copy(update=commands.JOB_POOL), metrics_enabled=False
    )
    stop = broker.Stop()
    counting = Counting(args.events, stop)
    original = services.relay_batch
    table = models.OutboxEvent.__table__
    new_rows = rows(args.events, orders.PLACED)
    if inspect.iscoroutinefunction(relay.relay):

        async def counted(session: Any, publisher: Any, *, limit: int) -> int:
            counting.begin()
            sent = await original(session, publisher, limit=limit)
            counting.end(sent)
            return int(sent)

        async def run() -> int:
            async with engine.begin() as connection:
                await connection.execute(table.delete())
                await connection.execute(table.insert(), new_rows)
            services.relay_batch = counted
            limit = asyncio.get_running_loop().call_later(args.limit, stop.set)
            await relay.relay(factory, settings, stop, kinds=kinds)
            limit.cancel()
            async with engine.connect() as connection:
                unsent = await connection.scalar(unsent_query(table))
            await engine.dispose()
            return int(unsent)

        unsent = asyncio.run(run())
        queued = clean_up_async(settings)
    else:

        def counted_sync(session: Any, publisher: Any, *, limit: int) -> int:
            counting.begin()
            sent = original(session, publisher, limit=limit)
            counting.end(sent)
            return int(sent)

        with engine.begin() as connection:
            connection.execute(table.delete())
            connection.execute(table.insert(), new_rows)
        services.relay_batch = counted_sync
        timer = threading.Timer(args.limit, stop.set)
        timer.start()
        relay.relay(factory, settings, stop, kinds=kinds)
        timer.cancel()
        with engine.connect() as connection:
            unsent = int(connection.scalar(unsent_query(table)))
        engine.dispose()
        queued = clean_up_sync(settings)
    result = {**counting.result(), "unsent": unsent, "queued": queued}
    result["batch_size"] = settings.relay_batch_size
    print("RELAY " + json.dumps(result), flush=True)


def unsent_query(table: Any) -> Any:
    from sqlalchemy import func, select

    return select(func.count()).select_from(table).where(table.c.sent_at.is_(None))


def names(settings: Any) -> tuple[list[str], list[str]]:
    """The run's queues and exchanges (messaging/broker.py's topology)."""
    dead = f"{settings.events_queue}.dead"
    return [settings.events_queue, dead], [settings.events_exchange, dead]


def clean_up_async(settings: Any) -> int:
    """The messages in the run's queue; then its queues and exchanges deleted."""
    import aio_pika

    async def clean() -> int:
        connection = await aio_pika.connect(settings.broker_url, timeout=10)
        try:
            channel = await connection.channel()
            queues, exchanges = names(settings)
            queue = await channel.declare_queue(queues[0], passive=True)
            queued = int(queue.declaration_result.message_count or 0)
            for name in queues:
                await channel.queue_delete(name)
            for name in exchanges:
                await channel.exchange_delete(name)
            return queued
        finally:
            await connection.close()

    return asyncio.run(clean())


def clean_up_sync(settings: Any) -> int:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(settings.broker_url))
    try:
        channel = connection.channel()
        queues, exchanges = names(settings)
        queued = int(channel.queue_declare(queues[0], passive=True).method.message_count)
        for name in queues:
            channel.queue_delete(name)
        for name in exchanges:
            channel.exchange_delete(name)
        return queued
    finally:
        connection.close()


if __name__ == "__main__":
    main()
