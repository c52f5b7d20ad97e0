"""Application factory: `uvicorn {{ cookiecutter.project_slug }}.main:app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from . import health, metrics
from .auth.tokens import create_token_verifier
from .database.capacity import create_database_slots
from .database.engine import dispose
from .database.observability import forget_pool
from .database.session import (
    create_engine_from_settings,
    create_probe_engine,
    create_session_factory,
)
from .database.startup import check_at_start_up
from .database.tracing import stop_tracing_statements
from .errors import CLIENT_ERRORS, install_error_handlers
from .items import routes as items
from .kit.routing import include
from .logs import configure_logging
from .middleware import RequestContextMiddleware
from .orders import routes as orders
from .settings import Settings, get_settings
from .tracing.provider import (
    service_tracer,
    start_tracing,
    stop_tracing_requests,
    trace_requests,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter  # loaded only with traces on


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The schema comes from `alembic upgrade head`; the app never creates tables itself.
    # Every uvicorn worker runs the lifespan after it has started, so each has an engine and
    # pool of its own: no connection is ever shared across fork.
    settings: Settings = app.state.settings
    # Traces, when an exporter is named: this worker's own provider, set up here, after the
    # fork, like the pool (tracing/provider.py).
    tracer_provider = start_tracing(settings, app.state.span_exporter)
    app.state.tracer_provider = tracer_provider
    app.state.tracer = service_tracer(tracer_provider)
    if tracer_provider is not None:
        trace_requests(app, tracer_provider)
    app.state.token_verifier = create_token_verifier(
        settings, metrics_enabled=settings.metrics_enabled
    )
    engine = create_engine_from_settings(
        settings, metrics_enabled=settings.metrics_enabled, tracer_provider=tracer_provider
    )
    app.state.engine = engine
    app.state.probe_engine = create_probe_engine(settings)
    app.state.session_factory = create_session_factory(
        engine,
        settings,
        metrics_enabled=settings.metrics_enabled,
        client_errors=CLIENT_ERRORS,
        tracer=app.state.tracer,
    )
    app.state.database_slots = create_database_slots(settings)
    try:
        await check_at_start_up(engine, settings, workers=settings.web_concurrency)
        yield
    finally:
        # After SIGTERM uvicorn stops accepting, lets the requests in flight finish (at most
        # --timeout-graceful-shutdown seconds), then ends the lifespan: the pool's connections
        # are closed here, so none is left open on the server.
        await dispose(engine)
        await dispose(app.state.probe_engine)
        if settings.metrics_enabled:
            forget_pool(capacity=settings.pool_capacity)
            metrics.AUTH_DISABLED.set(0)
            metrics.mark_process_dead()
        if tracer_provider is not None:
            stop_tracing_requests(app)
            stop_tracing_statements()
            # Exports every span still queued (the drained requests' last ones) before exit.
            tracer_provider.shutdown()


def api_description(settings: Settings) -> str:
    """The policies a client must know, published in the OpenAPI document."""
    hours = settings.idempotency_key_retention / 3600
    return (
        "**Retries.** Every non-idempotent operation takes an `Idempotency-Key` header: a "
        "retry with the same key and the same request is answered with the first response "
        "(marked `Idempotent-Replayed: true`) and changes nothing again. Keys are kept for "
        f"{hours:g} hours ({settings.idempotency_key_retention} seconds)"
        + (", and required." if settings.idempotency_key_required else ".")
        + "\n\n**Concurrent edits.** Responses that are one row carry its `ETag`; send it "
        "back in `If-Match` to change or delete the row only if nobody changed it meanwhile "
        "(412 otherwise" + ("; 428 without `If-Match`)." if settings.if_match_required else ").")
    )


def create_app(
    settings: Settings | None = None, *, span_exporter: "SpanExporter | None" = None
) -> FastAPI:
    """The app. `span_exporter`: where its spans go instead of the exporter OTEL_TRACES_EXPORTER
    names (traces are then on whatever it says): the tests' in-memory exporter, or a team's own.
    """
    settings = settings or get_settings()
    app = FastAPI(
        title={{ cookiecutter.project_name | python_string }},
        description=api_description(settings),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.span_exporter = span_exporter
    if settings.log_configure:
        configure_logging(settings)
    install_error_handlers(app)
    # Outermost of the app's own middleware: every response gets the request id, 503s included.
    app.add_middleware(
        RequestContextMiddleware,
        metrics_enabled=settings.metrics_enabled,
        traced=span_exporter is not None or settings.tracing_enabled,
    )
    include(app, health.router)
    if settings.metrics_enabled:
        include(app, metrics.router)
    include(app, items.router)
    include(app, orders.router)
    return app


app = create_app()
