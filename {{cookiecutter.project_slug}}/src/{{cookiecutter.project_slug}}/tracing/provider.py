"""The SDK's side of traces: one tracer provider per process, with its exporter, and the server
span of every request.

Set up by each process that serves (the app's lifespan, in every uvicorn worker after it has
started; the command line's relay, worker and purges at their start), never at import: the
batch processor's thread and the exporter's connections belong to the process whose spans they
send, and a provider built before a fork would be inherited by every child or lost to it.
`provider.shutdown()` exports what is still queued, so the drain after SIGTERM loses no span.

The SDK and the instrumentations are imported by the functions that run only when traces are
on: with traces off the service never loads them (FastAPI's instrumentation alone is about a
fifth of the app's import time, which every worker's start pays).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from .settings import TracingSettings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.trace.sampling import Sampler
    from opentelemetry.trace import Span, Tracer

# The instrumentation scope of the service's own spans (the database slot, the unit of work).
TRACER_NAME = "{{ cookiecutter.project_slug }}"

# Requests that get no server span: the probes and the metrics scrape, many per minute and
# about nothing. Matched against the request's full URL ("http://host:port/health/ready").
UNTRACED_PATHS = r"^[a-z]+://[^/]+/(health|metrics)(/|\?|$)"


def sampler(settings: TracingSettings) -> Sampler:
    from opentelemetry.sdk.trace.sampling import (
        ALWAYS_OFF,
        ALWAYS_ON,
        ParentBased,
        TraceIdRatioBased,
    )

    ratio = TraceIdRatioBased(settings.otel_traces_sampler_arg)
    return {
        "always_on": ALWAYS_ON,
        "always_off": ALWAYS_OFF,
        "traceidratio": ratio,
        "parentbased_always_on": ParentBased(ALWAYS_ON),
        "parentbased_always_off": ParentBased(ALWAYS_OFF),
        "parentbased_traceidratio": ParentBased(ratio),
    }[settings.otel_traces_sampler]


def traces_endpoint(settings: TracingSettings) -> str | None:
    """The collector's traces URL, as the OTLP exporter's specification derives it."""
    if settings.otel_exporter_otlp_traces_endpoint:
        return settings.otel_exporter_otlp_traces_endpoint
    if settings.otel_exporter_otlp_endpoint:
        return settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
    return None  # the exporter's own default


def span_exporter(settings: TracingSettings) -> SpanExporter:
    if settings.otel_traces_exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        # stderr: stdout carries the JSON log lines, one object per line.
        return ConsoleSpanExporter(out=sys.stderr)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    # Headers (OTEL_EXPORTER_OTLP_HEADERS), timeout and compression: the exporter reads its
    # own OTEL_* variables from the environment.
    return OTLPSpanExporter(endpoint=traces_endpoint(settings))


def start_tracing(
    settings: TracingSettings, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """This process's tracer provider, exporting to `exporter` (by default the one the settings
    name), or None when traces are off: nothing of the SDK is then created, and no span is."""
    if exporter is None:
        if not settings.tracing_enabled:
            return None
        exporter = span_exporter(settings)
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create(
        # OTEL_RESOURCE_ATTRIBUTES from the environment are merged in; these two win.
        {"service.name": settings.otel_service_name, "process.pid": os.getpid()}
    )
    provider = TracerProvider(resource=resource, sampler=sampler(settings))
    # Batched, in the processor's own thread: a request never waits for the collector.
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def service_tracer(provider: TracerProvider | None) -> Tracer | None:
    """The tracer of the service's own spans, or None when traces are off."""
    return None if provider is None else provider.get_tracer(TRACER_NAME)


def without_query(span: Span, scope: dict[str, Any]) -> None:
    """The server span keeps the path and drops the query string: its values are the client's,
    and not for a trace store to keep."""
    if span.is_recording():
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        path = scope.get("root_path", "") + scope["path"]
        span.set_attribute("http.url", f"{scope['scheme']}://{host}{path}")


def trace_requests(app: FastAPI, provider: TracerProvider) -> None:
    """A server span around every request but the untraced paths (FastAPI's instrumentation,
    outside Starlette's error middleware, so a 500 is in its span), continuing the trace of an
    incoming `traceparent`. Called from the lifespan, after the app's middleware stack was
    built: the stack is built again, as the instrumentation's own `uninstrument_app` does."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=UNTRACED_PATHS,
        # The ASGI messages' own spans (one per `receive` and `send`) say nothing the server
        # span does not, and cost as much as it.
        exclude_spans=["receive", "send"],
        server_request_hook=without_query,
    )
    app.middleware_stack = app.build_middleware_stack()


def stop_tracing_requests(app: FastAPI) -> None:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.uninstrument_app(app)
