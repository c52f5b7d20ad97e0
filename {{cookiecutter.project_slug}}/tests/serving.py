"""The app under test, started the way a server starts it."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from {{ cookiecutter.project_slug }}.main import create_app
from {{ cookiecutter.project_slug }}.settings import Settings


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The real app, started as a server would start it, and a client that talks to it.

    On the way out, no connection may be left checked out of the pool: a leak anywhere fails.
    """
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client
        leaked = app.state.engine.pool.checkedout()
        assert leaked == 0, f"{leaked} connection(s) still checked out after the test"
