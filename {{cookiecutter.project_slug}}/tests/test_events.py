"""Events and jobs, against the machine's real RabbitMQ: the outbox is written in the order's own
transaction, the relay publishes it at least once and marks it sent only after the broker's
confirms, and the worker's inbox makes a redelivery harmless. Each test has an exchange and
queues of its own, removed afterwards (support/amqp.py); the broker's configuration is never
changed."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import anyio.abc
import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from {{ cookiecutter.project_slug }} import commands
from {{ cookiecutter.project_slug }}.inbox.registry import HANDLERS
from {{ cookiecutter.project_slug }}.inbox.worker import logger as worker_logger
from {{ cookiecutter.project_slug }}.inbox.worker import work
from {{ cookiecutter.project_slug }}.messaging.messages import ATTEMPT_HEADER, dead_letter_name
from {{ cookiecutter.project_slug }}.orders import events
from {{ cookiecutter.project_slug }}.outbox.relay import relay
from {{ cookiecutter.project_slug }}.sales import handlers as sales
from {{ cookiecutter.project_slug }}.settings import Settings

from .support.amqp import drain, publish_raw, queue_size, remove_topology
from .support.database import execute, run_unit_of_work
from .support.helpers import create
from .support.identity_provider import access_headers
from .support.jobs import Poisoned, RelayCrashed, in_background, poisoned, relay_pass
from .support.log_capture import captured
from .support.ports import free_port
from .support.project import PROJECT_ROOT
from .support.queues import broker_names
from .support.serving import serve
from .support.tables import empty_tables
from .support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.anyio

# Seconds a test waits for the relay and the worker to catch up before it fails.
CATCH_UP = 30.0
MAX_ATTEMPTS = 3


@pytest.fixture
async def events_settings(app_settings: Settings) -> AsyncIterator[Settings]:
    settings = app_settings.model_copy(
        update={
            **broker_names(),
            "relay_poll_interval": 0.05,
            "broker_reconnect_interval": 0.1,
            "worker_max_attempts": MAX_ATTEMPTS,
        }
    )
    try:
        yield settings
    finally:
        await remove_topology(settings)


@pytest.fixture
async def served(events_settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with serve(events_settings) as (app, client):
        await empty_tables(app)
        yield app, client


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    try:
        with anyio.fail_after(CATCH_UP):
            while True:
                if await check():
                    return
                await anyio.sleep(0.05)
    except TimeoutError:
        pytest.fail(f"{what}: not within {CATCH_UP:g} s")


async def place(client: httpx.AsyncClient, *quantities: int) -> dict[str, Any]:
    """An order of `quantities[i]` units of a new item each (with enough stock)."""
    lines = []
    for quantity in quantities:
        item = await create(client, f"item-{uuid.uuid4().hex[:8]}", quantity=100)
        lines.append({"item_id": item["id"], "quantity": quantity})
    response = await client.post("/orders", json={"lines": lines})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def outbox(app: FastAPI) -> list[tuple[str, str, dict[str, Any], int | None]]:
    rows = await execute(
        app.state.engine, "SELECT event_id, kind, payload, sent_at FROM outbox_events ORDER BY id"
    )
    return [
        (event_id, kind, json.loads(payload), sent_at)
        for event_id, kind, payload, sent_at in (tuple(row) for row in rows)
    ]


async def unsent(app: FastAPI) -> int:
    return len([row for row in await outbox(app) if row[3] is None])


async def sold(app: FastAPI) -> dict[int, int]:
    rows = await execute(app.state.engine, "SELECT item_id, sold FROM item_sales")
    return dict(tuple(row) for row in rows)


def handled(outcome: str, kind: str = events.PLACED) -> float:
    value = REGISTRY.get_sample_value("events_handled_total", {"kind": kind, "outcome": outcome})
    return value or 0.0


def settled_deliveries() -> float:
    """Deliveries of order.placed the worker handled or found handled already."""
    return handled("handled") + handled("duplicate")


def sold_by(order: dict[str, Any], sign: int = 1) -> dict[int, int]:
    return {line["item_id"]: sign * line["quantity"] for line in order["lines"]}


async def test_an_order_and_its_event_are_committed_together(
    served: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = served
    order = await place(client, 2, 3)
    cancelled = await client.post(f"/orders/{order['id']}/cancel")
    assert cancelled.status_code == 200

    stored = await outbox(app)
    assert [(kind, sent_at) for _, kind, _, sent_at in stored] == [
        (events.PLACED, None),
        (events.CANCELLED, None),
    ]
    lines = [{"item_id": line["item_id"], "quantity": line["quantity"]} for line in order["lines"]]
    assert stored[0][2] == {"order_id": order["id"], "lines": lines}
    assert len({event_id for event_id, *_ in stored}) == 2


async def test_a_refused_or_failed_order_records_no_event(
    served: tuple[FastAPI, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, client = served
    item = await create(client, "scarce", quantity=1)
    refused = await client.post("/orders", json={"lines": [{"item_id": item["id"], "quantity": 2}]})
    assert refused.status_code == 409
    # A payload that is not JSON is refused where it is recorded, before the commit: the
    # order's own rows roll back with it.
    monkeypatch.setattr(events, "payload", lambda order: {"order_id": order.id, "at": {1, 2}})
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=access_headers()
    ) as raw:
        failed = await raw.post("/orders", json={"lines": [{"item_id": item["id"], "quantity": 1}]})
    assert failed.status_code == 500

    assert await outbox(app) == []
    assert await execute(app.state.engine, "SELECT id FROM orders") == []
    assert (await client.get(f"/items/{item['id']}")).json()["quantity"] == 1


async def test_an_event_reaches_the_worker_and_a_redelivery_counts_once(
    served: tuple[FastAPI, httpx.AsyncClient], events_settings: Settings
) -> None:
    app, client = served
    factory = app.state.session_factory
    order = await place(client, 2, 5)
    # Taken before the worker starts: the sale is visible once the handler's transaction
    # commits, a moment before the worker counts that delivery as settled.
    duplicates, settled = handled("duplicate"), settled_deliveries()
    async with (
        in_background(relay, factory, events_settings, kinds=HANDLERS.keys()),
        in_background(work, factory, events_settings, handlers=HANDLERS),
    ):
        await eventually(lambda: _equals(sold(app), sold_by(order)), "the order counted")
        await eventually(lambda: _true(settled_deliveries() == settled + 1), "the delivery")
        [(event_id, kind, payload, _)] = await outbox(app)
        # The same event again, as the broker redelivers it after a lost acknowledgement.
        await publish_raw(
            events_settings, json.dumps(payload).encode(), message_id=event_id, type=kind
        )
        await eventually(lambda: _true(settled_deliveries() == settled + 2), "the redelivery")
        assert handled("duplicate") == duplicates + 1
        assert await sold(app) == sold_by(order)
        cancelled = await client.post(f"/orders/{order['id']}/cancel")
        assert cancelled.status_code == 200
        await eventually(lambda: _equals(sold(app), sold_by(order, 0)), "the cancel counted")
    assert await unsent(app) == 0


async def test_a_relay_killed_after_the_confirms_publishes_again_and_counts_once(
    served: tuple[FastAPI, httpx.AsyncClient], events_settings: Settings
) -> None:
    """Published and confirmed, but the relay dies before its commit: the rows stay unsent, the
    next pass publishes them again, and the worker's inbox absorbs the second delivery."""
    app, client = served
    factory = app.state.session_factory
    orders = [await place(client, number) for number in (1, 2, 3)]

    with pytest.raises(RelayCrashed):
        await relay_pass(factory, events_settings, crash_after_publishing=True)
    assert await unsent(app) == 3
    assert await queue_size(events_settings, events_settings.events_queue) == 3
    assert await relay_pass(factory, events_settings) == 3
    assert await unsent(app) == 0
    assert await queue_size(events_settings, events_settings.events_queue) == 6

    duplicates, settled = handled("duplicate"), settled_deliveries()
    async with in_background(work, factory, events_settings, handlers=HANDLERS):
        await eventually(lambda: _true(settled_deliveries() == settled + 6), "6 deliveries")
    assert handled("duplicate") == duplicates + 3
    expected = {item: count for order in orders for item, count in sold_by(order).items()}
    assert await sold(app) == expected


async def test_two_relays_publish_200_events_once_each(
    served: tuple[FastAPI, httpx.AsyncClient], events_settings: Settings
) -> None:
    app, _ = served
    factory = app.state.session_factory
    body = json.dumps({"order_id": 0, "lines": []})
    for _ in range(200):
        await execute(
            app.state.engine,
            "INSERT INTO outbox_events (event_id, kind, payload, created_at) "
            "VALUES (:event_id, :kind, :payload, 0)",
            event_id=str(uuid.uuid4()),
            kind=events.PLACED,
            payload=body,
        )
    settings = events_settings.model_copy(update={"relay_batch_size": 10})
    # The queue exists (and is bound) before either relay publishes.
    assert await relay_pass(factory, settings.model_copy(update={"relay_batch_size": 1})) == 1
    async with (
        in_background(relay, factory, settings, kinds=HANDLERS.keys()),
        in_background(relay, factory, settings, kinds=HANDLERS.keys()),
    ):
        await eventually(lambda: _true_async(unsent(app), 0), "all 200 sent")

    received = await drain(events_settings, events_settings.events_queue)
    stored = {event_id for event_id, *_ in await outbox(app)}
    assert len(received) == 200
    assert {message.message_id for message in received} == stored


async def test_with_the_broker_away_requests_succeed_and_events_arrive_after_it_returns(
    served: tuple[FastAPI, httpx.AsyncClient], events_settings: Settings
) -> None:
    app, client = served
    factory = app.state.session_factory
    async with TcpProxy(events_settings.broker_url) as proxy:
        through_proxy = events_settings.model_copy(update={"broker_url": proxy.url})
        async with in_background(relay, factory, through_proxy, kinds=HANDLERS.keys()):
            first = await place(client, 1)
            await eventually(lambda: _true_async(unsent(app), 0), "the first event sent")
            proxy.refuse()
            orders = [await place(client, number) for number in (2, 3, 4)]
            await anyio.sleep(0.5)
            assert await unsent(app) == 3
            proxy.forward()
            await eventually(lambda: _true_async(unsent(app), 0), "the waiting events sent")
    async with in_background(work, factory, events_settings, handlers=HANDLERS):
        expected = {k: v for order in [first, *orders] for k, v in sold_by(order).items()}
        await eventually(lambda: _equals(sold(app), expected), "every order counted")


async def test_a_poison_event_is_dead_lettered_after_its_attempts_and_later_ones_flow(
    served: tuple[FastAPI, httpx.AsyncClient], events_settings: Settings
) -> None:
    app, client = served
    factory = app.state.session_factory
    poison = await place(client, 1)
    later = await place(client, 2)
    handlers = {
        **HANDLERS,
        events.PLACED: poisoned(sales.count_sold, order_id=poison["id"]),
    }
    dead_queue = dead_letter_name(events_settings.events_queue)
    async with (
        captured() as logs,
        in_background(relay, factory, events_settings, kinds=HANDLERS.keys()),
        in_background(work, factory, events_settings, handlers=handlers),
    ):
        await eventually(lambda: _equals(sold(app), sold_by(later)), "the later order counted")
        await eventually(
            lambda: _true_async(queue_size(events_settings, dead_queue), 1), "dead-lettered"
        )
    [dead] = await drain(events_settings, dead_queue)
    assert dead.headers[ATTEMPT_HEADER] == MAX_ATTEMPTS
    assert json.loads(dead.body)["order_id"] == poison["id"]
    # The worker's own lines (each rollback has its line too, from the session).
    failures = [
        line
        for line in logs.entries()
        if line["log.logger"] == worker_logger.name
        and line.get("error.type", "").endswith(Poisoned.__name__)
    ]
    assert len(failures) == MAX_ATTEMPTS
    assert all(line["event.id"] == dead.message_id for line in failures)


async def test_a_malformed_message_is_dead_lettered_at_once_and_the_worker_goes_on(
    served: tuple[FastAPI, httpx.AsyncClient], events_settings: Settings
) -> None:
    app, client = served
    factory = app.state.session_factory
    # The relay declares the queue; then three messages no relay would send: not JSON, not an
    # order's event, and no kind.
    await relay_pass(factory, events_settings)
    await publish_raw(events_settings, b"not json", message_id="m-1", type=events.PLACED)
    await publish_raw(events_settings, b"{}", message_id="m-2", type=events.PLACED)
    await publish_raw(events_settings, b'{"order_id": 1, "lines": []}', message_id="m-3")
    order = await place(client, 4)
    dead_queue = dead_letter_name(events_settings.events_queue)
    async with (
        captured() as logs,
        in_background(relay, factory, events_settings, kinds=HANDLERS.keys()),
        in_background(work, factory, events_settings, handlers=HANDLERS),
    ):
        await eventually(lambda: _equals(sold(app), sold_by(order)), "the order counted")
        await eventually(
            lambda: _true_async(queue_size(events_settings, dead_queue), 3), "dead-lettered"
        )
    dead = await drain(events_settings, dead_queue)
    assert all(ATTEMPT_HEADER not in message.headers for message in dead)
    refused = [line for line in logs.entries() if line["message"].startswith("event dead-lettered")]
    assert len(refused) == 3


async def test_the_relay_and_the_worker_run_as_processes_and_stop_on_sigterm(
    served: tuple[FastAPI, httpx.AsyncClient], events_settings: Settings
) -> None:
    """`python -m <package> relay` and `... worker`, as the compose file runs them."""
    app, client = served
    environment = {
        **os.environ,
        "DATABASE_URL": events_settings.database_url,
        "BROKER_URL": events_settings.broker_url,
        "EVENTS_EXCHANGE": events_settings.events_exchange,
        "EVENTS_QUEUE": events_settings.events_queue,
        "RELAY_POLL_INTERVAL": "0.1",
        # The suite's own default is off (its capture of log lines is in-process).
        "LOG_CONFIGURE": "true",
    }
    metrics_ports = {"relay": free_port(), "worker": free_port()}
    processes = [
        await anyio.open_process(
            [
                sys.executable,
                "-m",
                "{{ cookiecutter.project_slug }}",
                command,
                "--metrics-port",
                str(metrics_ports[command]),
            ],
            env=environment,
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for command in ("relay", "worker")
    ]
    try:
        order = await place(client, 3)
        await eventually(lambda: _equals(sold(app), sold_by(order)), "the order counted")
        # Each process serves its own figures (the web app's /metrics is another process's).
        async with httpx.AsyncClient() as scraper:
            scraped = {
                command: (await scraper.get(f"http://127.0.0.1:{port}/metrics")).text
                for command, port in metrics_ports.items()
            }
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        with anyio.fail_after(20):
            codes = [await process.wait() for process in processes]
    output = [await _output(process) for process in processes]
    assert codes == [0, 0], output
    # Their log lines are the service's JSON, with the job's name where a request id would be.
    for command, text in zip(("relay", "worker"), output, strict=True):
        assert f'"job.name":"{command}"' in text, text
    assert "events_relayed_total 1.0" in scraped["relay"]
    handled_line = 'events_handled_total{kind="order.placed",outcome="handled"} 1.0'
    assert handled_line in scraped["worker"]
    assert "db_client_commits_total" in scraped["worker"]


async def test_a_worker_with_a_bad_setting_exits_non_zero_naming_it(
    events_settings: Settings,
) -> None:
    process = await anyio.run_process(
        [sys.executable, "-m", "{{ cookiecutter.project_slug }}", "worker"],
        env={**os.environ, "WORKER_MAX_ATTEMPTS": "0", "LOG_CONFIGURE": "true"},
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert process.returncode != 0
    assert b"WORKER_MAX_ATTEMPTS" in process.stdout + process.stderr


async def test_the_purge_deletes_only_old_sent_events_and_old_inbox_entries(
    served: tuple[FastAPI, httpx.AsyncClient], events_settings: Settings
) -> None:
    """`python -m <package> purge-events`, in batches of one: sent rows and inbox entries older
    than EVENT_RETENTION go; recent ones stay, and an unsent row stays whatever its age."""
    app, _ = served
    old, now = 1000, int(time.time())
    for event_id, sent_at in (("old-sent", old), ("recent-sent", now), ("unsent", None)):
        await execute(
            app.state.engine,
            "INSERT INTO outbox_events (event_id, kind, payload, created_at, sent_at) "
            "VALUES (:event_id, 'order.placed', '{}', 0, :sent_at)",
            event_id=event_id,
            sent_at=sent_at,
        )
    for event_id, handled_at in (("old-a", old), ("old-b", old), ("recent", now)):
        await execute(
            app.state.engine,
            "INSERT INTO inbox_events (consumer, event_id, handled_at) "
            "VALUES ('queue', :event_id, :handled_at)",
            event_id=event_id,
            handled_at=handled_at,
        )

    deleted = await run_unit_of_work(commands.purge_events, events_settings, batch_size=1)

    assert deleted == 3
    kept_events = await execute(app.state.engine, "SELECT event_id FROM outbox_events")
    assert sorted(row[0] for row in kept_events) == ["recent-sent", "unsent"]
    kept_entries = await execute(app.state.engine, "SELECT event_id FROM inbox_events")
    assert [row[0] for row in kept_entries] == ["recent"]


async def _output(process: anyio.abc.Process) -> str:
    received = b""
    if process.stdout is not None:
        async for chunk in process.stdout:
            received += chunk
    return received.decode()


async def _equals(actual: Awaitable[object], expected: object) -> bool:
    return await actual == expected


async def _true(value: bool) -> bool:
    return value


async def _true_async(actual: Awaitable[int], expected: int) -> bool:
    return await actual == expected
