"""Application factory: `uvicorn {{ cookiecutter.project_slug }}.main:app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from . import health, routes
from .capacity import create_database_slots
from .db import create_engine_from_settings, create_session_factory
from .errors import install_error_handlers
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
        {% if cookiecutter.mode == "async" %}await {% endif %}engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title={{ cookiecutter.project_name | python_string }}, lifespan=lifespan)
    app.state.settings = settings or get_settings()
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(routes.router)
    return app


app = create_app()
