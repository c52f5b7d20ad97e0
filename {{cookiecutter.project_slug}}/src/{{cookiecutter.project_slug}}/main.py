"""Application factory: `uvicorn {{ cookiecutter.project_slug }}.main:app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from . import health
from .database.capacity import create_database_slots
from .database.dialect import check_connection_budget
from .database.lifecycle import dispose
from .database.session import create_engine_from_settings, create_session_factory
from .errors import install_error_handlers
from .items import routes as items
from .orders import routes as orders
from .settings import Settings, get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The schema comes from `alembic upgrade head`; the app never creates tables itself.
    # Every uvicorn worker runs the lifespan after it has started, so each has an engine and
    # pool of its own: no connection is ever shared across fork.
    settings: Settings = app.state.settings
    engine = create_engine_from_settings(settings)
    app.state.engine = engine
    app.state.session_factory = create_session_factory(engine, settings)
    app.state.database_slots = create_database_slots(settings)
    try:
        await check_connection_budget(engine, settings)
        yield
    finally:
        # After SIGTERM uvicorn stops accepting, lets the requests in flight finish (at most
        # --timeout-graceful-shutdown seconds), then ends the lifespan: the pool's connections
        # are closed here, so none is left open on the server.
        await dispose(engine)


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title={{ cookiecutter.project_name | python_string }}, lifespan=lifespan)
    app.state.settings = settings or get_settings()
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(items.router)
    app.include_router(orders.router)
    return app


app = create_app()
