"""Application factory: `uvicorn {{ cookiecutter.project_slug }}.main:app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from . import health
from .database.capacity import create_database_slots
from .database.lifecycle import dispose
from .database.session import create_engine_from_settings, create_session_factory
from .errors import install_error_handlers
from .items import routes as items
from .settings import Settings, get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The schema comes from `alembic upgrade head`; the app never creates tables itself.
    engine = create_engine_from_settings(app.state.settings)
    app.state.engine = engine
    app.state.session_factory = create_session_factory(engine)
    app.state.database_slots = create_database_slots(app.state.settings)
    try:
        yield
    finally:
        await dispose(engine)


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title={{ cookiecutter.project_name | python_string }}, lifespan=lifespan)
    app.state.settings = settings or get_settings()
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(items.router)
    return app


app = create_app()
