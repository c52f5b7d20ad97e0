"""Direct database access for tests, beside the app's own sessions."""

{% if cookiecutter.database == "mysql" -%}
import time
{% endif -%}
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


@asynccontextmanager
async def uncommitted_write(engine: Engine, sql: str) -> AsyncIterator[None]:
    """Hold a transaction that has written but not committed, as a slow writer would."""
    with engine.connect() as connection:
        connection.execute(text(sql))
        yield
        connection.rollback()
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


async def execute_for_each_row_until_gone(
    engine: Engine, query: str, statement: str, remaining: str
) -> int:
    """On one connection: run `query`, then `statement` with each row's first value, then poll
    `remaining` (its {} filled with those values) until it counts none. Returns their number."""

    def run() -> int:
        with engine.connect() as connection:
            values = list(connection.scalars(text(query)))
            for value in values:
                connection.execute(text(statement.format(value)))
            count = text(remaining.format(", ".join(str(value) for value in values)))
            deadline = time.monotonic() + 10
            while values and connection.scalar(count):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"still counted after 10 s: {values}")
                time.sleep(0.01)
        return len(values)

    return await anyio.to_thread.run_sync(run)
{%- endif %}
