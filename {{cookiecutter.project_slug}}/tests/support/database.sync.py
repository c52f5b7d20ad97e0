"""Direct database access for tests, beside the app's own sessions."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI
from sqlalchemy import Engine, Row, create_engine, text

from {{ cookiecutter.project_slug }}.database.session import SessionDep


async def execute(engine: Engine, *statements: str, **params: Any) -> list[Row[Any]]:
    """Run statements in one committed transaction; return the last one's rows, if any.

    It runs in a worker thread, like the service's own database work, so the event loop that
    drives the app under test stays free.
    """

    def run() -> list[Row[Any]]:
        with engine.begin() as connection:
            for sql in statements:
                result = connection.execute(text(sql), params)
            return list(result) if result.returns_rows else []

    return await anyio.to_thread.run_sync(run)


@asynccontextmanager
async def open_engine(url: str, **options: Any) -> AsyncIterator[Engine]:
    """An engine of the test's own, apart from the app's; disposed afterwards."""
    engine = create_engine(url, **options)
    try:
        yield engine
    finally:
        engine.dispose()


@asynccontextmanager
async def connection_checked_out(engine: Engine) -> AsyncIterator[None]:
    """Hold one pooled connection, as a slow request would."""
    with engine.connect():
        yield


@asynccontextmanager
async def uncommitted_write(engine: Engine, sql: str) -> AsyncIterator[None]:
    """Hold a transaction that has written but not committed, as a slow writer would."""
    with engine.connect() as connection:
        connection.execute(text(sql))
        yield
        connection.rollback()


@asynccontextmanager
async def held_transaction(engine: Engine) -> AsyncIterator[Callable[[str], Awaitable[None]]]:
    """A transaction of the test's own, held open across the test's steps, as a concurrent
    writer would hold it; the function it gives runs one statement in it, in a worker thread, so
    a statement that waits for a lock leaves the event loop free. Rolled back at the end."""
    connection = await anyio.to_thread.run_sync(engine.connect)
    try:

        async def run(sql: str) -> None:
            await anyio.to_thread.run_sync(connection.execute, text(sql))

        yield run
        await anyio.to_thread.run_sync(connection.rollback)
    finally:
        await anyio.to_thread.run_sync(connection.close)


def add_slow_route(app: FastAPI, path: str, sql: str) -> None:
    """A POST route whose unit of work runs one slow statement and commits, written as the
    service writes them: the session from get_session, commit before the response."""

    def slow(session: SessionDep) -> dict[str, str]:
        session.execute(text(sql))
        session.commit()
        return {}

    app.router.add_api_route(path, slow, methods=["POST"])


async def run_unit_of_work(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a function of the service that does database work (a command's, a unit of work),
    in a worker thread, as the service runs its database work."""
    return await anyio.to_thread.run_sync(lambda: function(*args, **kwargs))


def failing_after(function: Callable[..., Any], error: Exception) -> Callable[..., Any]:
    """`function` of the service, made to raise `error` once it has done its work."""

    def failing(*args: Any, **kwargs: Any) -> Any:
        function(*args, **kwargs)
        raise error

    return failing


def sync_engine_of(engine: Engine) -> Engine:
    """The engine that SQLAlchemy's events are registered on: the engine itself."""
    return engine
