"""Application factory: `uvicorn {{ cookiecutter.project_slug }}.main:app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
from .errors import CLIENT_ERRORS, install_error_handlers
from .items import routes as items
from .kit.routing import include
from .logs import configure_logging
from .middleware import RequestContextMiddleware
from .orders import routes as orders
from .settings import Settings, get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The schema comes from `alembic upgrade head`; the app never creates tables itself.
    # Every uvicorn worker runs the lifespan after it has started, so each has an engine and
    # pool of its own: no connection is ever shared across fork.
    settings: Settings = app.state.settings
    app.state.token_verifier = create_token_verifier(
        settings, metrics_enabled=settings.metrics_enabled
    )
    engine = create_engine_from_settings(settings, metrics_enabled=settings.metrics_enabled)
    app.state.engine = engine
    app.state.probe_engine = create_probe_engine(settings)
    app.state.session_factory = create_session_factory(
        engine, settings, metrics_enabled=settings.metrics_enabled, client_errors=CLIENT_ERRORS
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


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title={{ cookiecutter.project_name | python_string }},
        description=api_description(settings),
        lifespan=lifespan,
    )
    app.state.settings = settings
    if settings.log_configure:
        configure_logging(settings)
    install_error_handlers(app)
    # Outermost of the app's own middleware: every response gets the request id, 503s included.
    app.add_middleware(RequestContextMiddleware, metrics_enabled=settings.metrics_enabled)
    include(app, health.router)
    if settings.metrics_enabled:
        include(app, metrics.router)
    include(app, items.router)
    include(app, orders.router)
    return app


app = create_app()
