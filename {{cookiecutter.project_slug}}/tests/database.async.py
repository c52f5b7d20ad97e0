"""Direct database access for tests, beside the app's own sessions."""

{% if cookiecutter.database != "sqlite" -%}
import asyncio
{% endif -%}
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

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


async def execute_for_each_row(engine: AsyncEngine, query: str, statement: str) -> int:
    """Run `query`, then `statement` with each row's first value, all on one connection."""
    async with engine.connect() as connection:
        rows = list(await connection.execute(text(query)))
        for row in rows:
            await connection.execute(text(statement.format(row[0])))
        await connection.commit()
    return len(rows)
{%- endif %}
