"""Direct database access for tests, beside the app's own sessions."""

{% if cookiecutter.database != "sqlite" -%}
import asyncio
{% endif -%}
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncEngine{% if cookiecutter.database != "sqlite" %}, create_async_engine{% endif %}


async def execute(engine: AsyncEngine, sql: str, **params: Any) -> list[Row[Any]]:
    """Run one statement in its own committed transaction; return its rows, if any."""
    async with engine.begin() as connection:
        result = await connection.execute(text(sql), params)
        return list(result) if result.returns_rows else []
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
