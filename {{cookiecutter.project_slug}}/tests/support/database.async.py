"""Direct database access for tests, beside the app's own sessions."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, Row, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from {{ cookiecutter.project_slug }}.database.session import SessionDep


async def execute(engine: AsyncEngine, *statements: str, **params: Any) -> list[Row[Any]]:
    """Run statements in one committed transaction; return the last one's rows, if any."""
    async with engine.begin() as connection:
        for sql in statements:
            result = await connection.execute(text(sql), params)
        return list(result) if result.returns_rows else []


@asynccontextmanager
async def open_engine(url: str, **options: Any) -> AsyncIterator[AsyncEngine]:
    """An engine of the test's own, apart from the app's; disposed afterwards."""
    engine = create_async_engine(url, **options)
    try:
        yield engine
    finally:
        await engine.dispose()


@asynccontextmanager
async def connection_checked_out(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold one pooled connection, as a slow request would."""
    async with engine.connect():
        yield


@asynccontextmanager
async def uncommitted_write(engine: AsyncEngine, sql: str) -> AsyncIterator[None]:
    """Hold a transaction that has written but not committed, as a slow writer would."""
    async with engine.connect() as connection:
        await connection.execute(text(sql))
        yield
        await connection.rollback()


@asynccontextmanager
async def held_transaction(engine: AsyncEngine) -> AsyncIterator[Callable[[str], Awaitable[None]]]:
    """A transaction of the test's own, held open across the test's steps, as a concurrent
    writer would hold it; the function it gives runs one statement in it. Rolled back at the end."""
    async with engine.connect() as connection:

        async def run(sql: str) -> None:
            await connection.execute(text(sql))

        yield run
        await connection.rollback()


def add_slow_route(app: FastAPI, path: str, sql: str) -> None:
    """A POST route whose unit of work runs one slow statement and commits, written as the
    service writes them: the session from get_session, commit before the response."""

    async def slow(session: SessionDep) -> dict[str, str]:
        await session.execute(text(sql))
        await session.commit()
        return {}

    app.router.add_api_route(path, slow, methods=["POST"])


async def run_unit_of_work(
    function: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any
) -> Any:
    """Call a function of the service that does database work (a command's, a unit of work)."""
    return await function(*args, **kwargs)


def failing_after(
    function: Callable[..., Awaitable[Any]], error: Exception
) -> Callable[..., Awaitable[Any]]:
    """`function` of the service, made to raise `error` once it has done its work."""

    async def failing(*args: Any, **kwargs: Any) -> Any:
        await function(*args, **kwargs)
        raise error

    return failing


def sync_engine_of(engine: AsyncEngine) -> Engine:
    """The engine that SQLAlchemy's events are registered on."""
    return engine.sync_engine
