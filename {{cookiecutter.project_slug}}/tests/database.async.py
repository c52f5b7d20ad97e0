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


# The app's pooled connections, seen from another connection to the same database.
OTHER_CONNECTIONS = (
    "FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()"
)


def count_of_connections(ids: list[int]) -> str:
    listed = ", ".join(str(id_) for id_ in ids)
    return f"SELECT count(*) FROM information_schema.processlist WHERE id IN ({listed})"


async def kill_other_connections(engine: AsyncEngine) -> int:
    """KILL the other connections to this database; return once the server has closed them."""
    async with engine.connect() as connection:
        ids = list(await connection.scalars(text(f"SELECT id {OTHER_CONNECTIONS}")))
        for id_ in ids:
            await connection.execute(text(f"KILL {id_}"))
        with anyio.fail_after(10):
            while ids:
                if not await connection.scalar(text(count_of_connections(ids))):
                    break
                await anyio.sleep(0.01)
    return len(ids)
{%- endif %}
