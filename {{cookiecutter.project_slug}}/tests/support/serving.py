"""The app under test, started the way a server starts it."""

import gc
import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any, Protocol

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter

from {{ cookiecutter.project_slug }}.main import create_app
from {{ cookiecutter.project_slug }}.settings import Settings

from .identity_provider import access_headers


class Pooler(Protocol):
    """A transaction pooler running in front of the test server."""

    def url_for(self, database_url: str) -> str:
        """The same database, user and driver as `database_url`, reached through the pooler."""
        ...

    def settings_for(self, database_url: str) -> Settings:
        """The app's default settings for `database_url` reached through the pooler, with the
        setting that tells the service it is behind one."""
        ...


# How a test database's dialect module starts a pooler it can have (dialect.py: POOLERS).
StartPooler = Callable[[], AbstractContextManager[Pooler]]


class SessionsLeftOpen:
    """Wraps the app's session factory and keeps every session it made until it is closed.

    The factory is the app's own; only each session's `close` is observed, so the app runs as
    it always does.
    """

    def __init__(self, factory: Callable[..., Any]) -> None:
        self.factory = factory
        self.sessions: list[Any] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        session = self.factory(*args, **kwargs)
        self.sessions.append(session)
        close = session.close
        if inspect.iscoroutinefunction(close):

            async def close_and_forget() -> None:
                self.sessions.remove(session)
                await close()

            session.close = close_and_forget
        else:

            def close_and_forget_sync() -> None:
                self.sessions.remove(session)
                close()

            session.close = close_and_forget_sync
        return session


@asynccontextmanager
async def serve(
    settings: Settings,
    *,
    headers: dict[str, str] | None = None,
    span_exporter: SpanExporter | None = None,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The real app, started as a server would start it, and a client that talks to it, with a
    valid token of every scope unless `headers` says otherwise; its spans go to `span_exporter`
    (traces are off without one, as by default).

    On the way out, every session the app opened must be closed, and no connection may be left
    checked out of the pool: a leak anywhere fails. A session dropped without being closed
    hands its connection back only when the garbage collector finds it, with SQLAlchemy's
    warning, which the test configuration turns into a failure; collecting here makes that
    happen in the test that leaked.
    """
    app = create_app(settings, span_exporter=span_exporter)
    async with app.router.lifespan_context(app):
        left_open = SessionsLeftOpen(app.state.session_factory)
        app.state.session_factory = left_open
        transport = httpx.ASGITransport(app=app)
        headers = access_headers() if headers is None else headers
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=headers
        ) as client:
            yield app, client
        assert not left_open.sessions, f"{len(left_open.sessions)} session(s) never closed"
        leaked = app.state.engine.pool.checkedout()
        assert leaked == 0, f"{leaked} connection(s) still checked out after the test"
        gc.collect()
