"""Spans as the tests see them: the app's own exporter, in memory, for an app in this process;
and a real OTLP/HTTP collector on a free local port, for servers in processes of their own."""

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from fastapi import FastAPI
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from .ports import serving_http


def finished_spans(app: FastAPI, exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    """Every span the app has ended so far, once its batch processor has exported them."""
    assert app.state.tracer_provider.force_flush(10_000), "spans not exported within 10 s"
    return list(exporter.get_finished_spans())


def one(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    found = [span for span in spans if span.name == name]
    assert len(found) == 1, (name, [span.name for span in spans])
    return found[0]


def children(spans: Sequence[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [
        span
        for span in spans
        if span.parent is not None and span.parent.span_id == parent.context.span_id
    ]


def server_span(spans: Sequence[ReadableSpan], request_id: str) -> ReadableSpan:
    """The server span of the request that was answered with this X-Request-ID."""
    found = [
        span
        for span in spans
        if span.kind is SpanKind.SERVER and (span.attributes or {}).get("request_id") == request_id
    ]
    assert len(found) == 1, [span.name for span in spans]
    return found[0]


def statements(spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    """The SQL statements' spans (the instrumentation's client spans but the pool's `connect`)."""
    return [span for span in spans if span.kind is SpanKind.CLIENT and span.name != "connect"]


def every_value(spans: Sequence[ReadableSpan]) -> list[str]:
    """Everything a trace store would keep of these spans, as text: names, attributes, status
    descriptions, events and their attributes."""
    values: list[str] = []
    for span in spans:
        values.append(span.name)
        values.extend(f"{key}={value!r}" for key, value in (span.attributes or {}).items())
        values.append(span.status.description or "")
        for event in span.events:
            values.append(event.name)
            values.extend(f"{key}={value!r}" for key, value in (event.attributes or {}).items())
    return values


@dataclass(frozen=True)
class CollectedSpan:
    """A span as a collector received it: from which process, and what it says."""

    pid: int
    name: str
    kind: SpanKind
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]


def plain(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind is not None else None


@dataclass
class Collector:
    """An OTLP/HTTP trace receiver (`POST /v1/traces`, protobuf), keeping what it receives."""

    url: str
    spans: list[CollectedSpan] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def receive(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        received = []
        for resource_spans in request.resource_spans:
            resource = {a.key: plain(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(
                        CollectedSpan(
                            pid=int(resource["process.pid"]),
                            name=span.name,
                            # OTLP's enum counts from SPAN_KIND_UNSPECIFIED = 0.
                            kind=SpanKind(span.kind - 1),
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            attributes={a.key: plain(a.value) for a in span.attributes},
                        )
                    )
        with self.lock:
            self.spans.extend(received)

    def received(self) -> list[CollectedSpan]:
        with self.lock:
            return list(self.spans)


@contextmanager
def running_collector() -> Iterator[Collector]:
    """A collector on a free port of 127.0.0.1, for the whole block."""
    collector: Collector | None = None

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            assert collector is not None
            if self.path != "/v1/traces" or self.headers.get("Content-Encoding"):
                self.send_error(400)
                return
            collector.receive(body)
            reply = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the test's output is the service's

    with serving_http(Receiver) as port:
        collector = Collector(url=f"http://127.0.0.1:{port}/v1/traces")
        yield collector
