"""Direct database access for tests, beside the app's own sessions."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from sqlalchemy import Engine, Row, {% if cookiecutter.database != "sqlite" %}create_engine, {% endif %}text


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
async def connection_checked_out(engine: Engine) -> AsyncIterator[None]:
    """Hold one pooled connection, as a slow request would."""
    with engine.connect():
        yield
{%- if cookiecutter.database != "sqlite" %}


def execute_on_server(server_url: str, sql: str) -> None:
    """Run one statement outside a transaction, e.g. CREATE DATABASE."""
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(sql))
    finally:
        engine.dispose()
{%- endif %}
{%- if cookiecutter.database == "mysql" %}


async def execute_for_each_row(engine: Engine, query: str, statement: str) -> int:
    """Run `query`, then `statement` with each row's first value, all on one connection."""

    def run() -> int:
        with engine.connect() as connection:
            rows = list(connection.execute(text(query)))
            for row in rows:
                connection.execute(text(statement.format(row[0])))
            connection.commit()
        return len(rows)

    return await anyio.to_thread.run_sync(run)
{%- endif %}
