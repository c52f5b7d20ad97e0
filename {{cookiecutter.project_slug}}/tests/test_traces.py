"""Traces: one trace per request, from its server span through the wait for a database slot
and the unit of work down to each SQL statement; a rollback's span says why; nothing the client
sent is kept; and with no exporter named, no span is made at all. The apps here export to an
in-memory exporter; a job's spans go to a real OTLP/HTTP collector, as a deployed process's do
(the 2-worker server and its drain: test_workers.py)."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy
from fastapi import FastAPI
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, SynchronousMultiSpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from {{ cookiecutter.project_slug }} import commands
from {{ cookiecutter.project_slug }}.settings import Settings

from .support.database import run_unit_of_work
from .support.helpers import create
from .support.identity_provider import access_headers
from .support.log_capture import captured
from .support.serving import serve
from .support.tables import empty_tables
from .support.traces import (
    children,
    every_value,
    finished_spans,
    one,
    running_collector,
    server_span,
    statements,
)

pytestmark = pytest.mark.anyio

# An incoming W3C trace context: the caller's trace, and its span that called the service.
CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01"


@dataclass
class Traced:
    app: FastAPI
    client: httpx.AsyncClient
    exporter: InMemorySpanExporter

    def spans(self) -> list[ReadableSpan]:
        return finished_spans(self.app, self.exporter)


@pytest.fixture
async def traced(app_settings: Settings) -> AsyncIterator[Traced]:
    """The app with traces on, exporting to memory, on empty tables."""
    exporter = InMemorySpanExporter()
    async with serve(app_settings, span_exporter=exporter) as (app, client):
        await empty_tables(app)
        yield Traced(app, client, exporter)


def in_trace(spans: list[ReadableSpan], trace_id: int) -> list[ReadableSpan]:
    return [span for span in spans if span.context.trace_id == trace_id]


@pytest.mark.through_poolers  # behind PgBouncer too: its engine is traced the same way
async def test_an_order_is_one_trace_from_its_server_span_to_every_statement(
    traced: Traced,
) -> None:
    marker = uuid.uuid4().hex  # in the body and the query string: neither may reach a span
    item = await create(traced.client, f"item-{marker}", quantity=5)
    body = {"lines": [{"item_id": item["id"], "quantity": 2}]}

    response = await traced.client.post(
        f"/orders?note={marker}", json=body, headers={"traceparent": TRACEPARENT}
    )

    assert response.status_code == 201, response.text
    spans = traced.spans()
    server = server_span(spans, response.headers["x-request-id"])
    # The caller's trace goes on: the server span is its span's child.
    assert format(server.context.trace_id, "032x") == CALLER_TRACE_ID
    assert server.parent is not None
    assert format(server.parent.span_id, "016x") == CALLER_SPAN_ID
    assert server.name == "POST /orders"
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/orders"
    assert server.attributes["user.id"] == "tester"
    trace = in_trace(spans, server.context.trace_id)
    # server span > database slot > unit of work > statements.
    slot = one(children(trace, server), "database slot")
    assert slot.attributes is not None
    assert isinstance(slot.attributes["db.slot.wait_time"], float)
    unit = one(children(trace, slot), "unit of work")
    assert unit.attributes is not None
    assert unit.attributes["db.unit_of_work.outcome"] == "committed"
    assert unit.status.status_code is StatusCode.UNSET
    ran = statements(trace)
    assert [span for span in ran if span.parent != unit.context] == [], "a statement elsewhere"
    verbs = {span.name.split()[0] for span in ran}
    assert {"INSERT", "UPDATE"} <= verbs, verbs  # the order, its lines and outbox row; stock
    # What the client sent is nowhere: the body's name, the query string, the token.
    token = access_headers()["Authorization"].removeprefix("Bearer ")
    kept = " ".join(every_value(trace))
    assert marker not in kept
    assert token not in kept
    assert token.split(".")[2] not in kept  # not even its signature


async def test_a_rollback_span_says_why_and_quotes_no_value(traced: Traced) -> None:
    secret = f"name-{uuid.uuid4().hex}"
    await create(traced.client, secret)

    response = await traced.client.post("/items", json={"name": secret})

    assert response.status_code == 409
    spans = traced.spans()
    server = server_span(spans, response.headers["x-request-id"])
    trace = in_trace(spans, server.context.trace_id)
    unit = one(trace, "unit of work")
    assert unit.attributes is not None
    assert unit.attributes["db.unit_of_work.outcome"] == "rolled_back"
    assert unit.attributes["db.rollback.cause"] == "integrity"
    assert unit.status.status_code is StatusCode.ERROR
    failed = [span for span in statements(trace) if span.status.status_code is StatusCode.ERROR]
    assert [span.name.split()[0] for span in failed] == ["INSERT"]
    assert failed[0].parent == unit.context
    # The driver's message quotes the duplicate name; the spans keep its class only.
    assert secret not in " ".join(every_value(trace))


async def test_a_client_error_rolls_back_without_marking_the_unit_of_work_failed(
    traced: Traced,
) -> None:
    response = await traced.client.get("/items/999999")

    assert response.status_code == 404
    spans = traced.spans()
    server = server_span(spans, response.headers["x-request-id"])
    unit = one(in_trace(spans, server.context.trace_id), "unit of work")
    assert unit.attributes is not None
    assert unit.attributes["db.rollback.cause"] == "client_error"
    assert unit.status.status_code is StatusCode.UNSET


async def test_statement_spans_appear_once_on_this_sqlalchemy_in_every_app(
    app_settings: Settings,
) -> None:
    """The instrumentation declares SQLAlchemy < 2.1: on ours it traces only because its
    dependency check is skipped on purpose (database/tracing.py). Each app instruments its
    engine once, and undoes it at shutdown: a second app in the same process (as in this
    suite) is traced too, and no statement twice."""
    assert tuple(int(part) for part in sqlalchemy.__version__.split(".")[:2]) >= (2, 1)
    for _ in range(2):
        exporter = InMemorySpanExporter()
        async with serve(app_settings, span_exporter=exporter) as (app, client):
            item = await create(client, f"once-{uuid.uuid4().hex}")
            exporter.clear()

            response = await client.get(f"/items/{item['id']}")

            assert response.status_code == 200
            spans = finished_spans(app, exporter)
            server = server_span(spans, response.headers["x-request-id"])
            trace = in_trace(spans, server.context.trace_id)
            unit = one(trace, "unit of work")
            ran = statements(trace)
            # One SELECT, once (a dialect may also send its BEGIN as a statement).
            verbs = [span.name.split()[0] for span in ran]
            assert [verb for verb in verbs if verb != "BEGIN"] == ["SELECT"]
            assert {span.parent.span_id for span in ran if span.parent} == {unit.context.span_id}
            assert all(span.parent for span in ran)
        assert not SQLAlchemyInstrumentor().is_instrumented_by_opentelemetry


async def test_every_log_line_of_a_traced_request_carries_its_trace_id(traced: Traced) -> None:
    async with captured() as capture:
        response = await traced.client.post("/items", json={"name": "logged"})

    assert response.status_code == 201
    server = server_span(traced.spans(), response.headers["x-request-id"])
    lines = [
        entry
        for entry in capture.entries()
        if entry.get("request_id") == response.headers["x-request-id"]
    ]
    assert lines, "the request logged nothing"
    assert {entry.get("trace.id") for entry in lines} == {format(server.context.trace_id, "032x")}


async def test_probes_and_metrics_have_no_server_span(traced: Traced) -> None:
    for path in ("/health", "/health/ready", "/metrics"):
        assert (await traced.client.get(path)).status_code == 200

    assert [span.name for span in traced.spans() if span.kind is SpanKind.SERVER] == []


async def test_without_an_exporter_no_span_processor_runs(
    app_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert app_settings.otel_traces_exporter == "none"  # the default
    started: list[str] = []
    for processor in (SynchronousMultiSpanProcessor, BatchSpanProcessor, SimpleSpanProcessor):
        monkeypatch.setattr(processor, "on_start", lambda *_args, **_kw: started.append("span"))

    async with serve(app_settings) as (app, client):
        item = await create(client, "untraced")
        assert (await client.get(f"/items/{item['id']}")).status_code == 200
        assert app.state.tracer_provider is None
        assert not getattr(app, "_is_instrumented_by_opentelemetry", False)
        assert not SQLAlchemyInstrumentor().is_instrumented_by_opentelemetry

    assert started == []


async def test_a_jobs_units_of_work_are_exported_with_their_statements(
    app_settings: Settings,
) -> None:
    """A command's units of work, with traces on, reach a real collector over OTLP/HTTP before
    the command returns."""
    with running_collector() as collector:
        settings = app_settings.model_copy(
            update={
                "otel_traces_exporter": "otlp",
                "otel_exporter_otlp_traces_endpoint": collector.url,
            }
        )
        await run_unit_of_work(commands.purge_idempotency_keys, settings, batch_size=10)

        received = collector.received()
    units = [span for span in received if span.name == "unit of work"]
    assert units, [span.name for span in received]
    assert {span.attributes["job.name"] for span in units} == {commands.PURGE}
    assert {span.attributes["db.unit_of_work.outcome"] for span in units} == {"committed"}
    ran = [span for span in received if span.kind is SpanKind.CLIENT and span.name != "connect"]
    assert ran, [span.name for span in received]
    assert {span.parent_span_id for span in ran} <= {span.span_id for span in units}
