"""Direct database access for tests, beside the app's own sessions."""

{% if cookiecutter.database != "sqlite" -%}
import asyncio
{% endif -%}
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

{% if cookiecutter.database == "mysql" -%}
import anyio
{% endif -%}
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncEngine{% if cookiecutter.database != "sqlite" %}, create_async_engine{% endif %}


async def execute(engine: AsyncEngine, *statements: str, **params: Any) -> list[Row[Any]]:
    """Run statements in one committed transaction; return the last one's rows, if any."""
    async with engine.begin() as connection:
        for sql in statements:
            result = await connection.execute(text(sql), params)
        return list(result) if result.returns_rows else []


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
{%- if cookiecutter.database != "sqlite" %}


def execute_on_server(server_url: str, sql: str) -> None:
    """Run one statement outside a transaction, e.g. CREATE DATABASE."""

    async def run() -> None:
        engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(run())
{%- endif %}
{%- if cookiecutter.database == "mysql" %}


async def execute_for_each_row_until_gone(
    engine: AsyncEngine, query: str, statement: str, remaining: str
) -> int:
    """On one connection: run `query`, then `statement` with each row's first value, then poll
    `remaining` (its {} filled with those values) until it counts none. Returns their number."""
    async with engine.connect() as connection:
        values = list(await connection.scalars(text(query)))
        for value in values:
            await connection.execute(text(statement.format(value)))
        count = text(remaining.format(", ".join(str(value) for value in values)))
        with anyio.fail_after(10):
            while values:
                if not await connection.scalar(count):
                    break
                await anyio.sleep(0.01)
    return len(values)
{%- endif %}
