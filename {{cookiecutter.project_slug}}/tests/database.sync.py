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


# The app's pooled connections, seen from another connection to the same database.
OTHER_CONNECTIONS = (
    "FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()"
)


def count_of_connections(ids: list[int]) -> str:
    listed = ", ".join(str(id_) for id_ in ids)
    return f"SELECT count(*) FROM information_schema.processlist WHERE id IN ({listed})"


async def kill_other_connections(engine: Engine) -> int:
    """KILL the other connections to this database; return once the server has closed them."""

    def run() -> int:
        with engine.connect() as connection:
            ids = list(connection.scalars(text(f"SELECT id {OTHER_CONNECTIONS}")))
            for id_ in ids:
                connection.execute(text(f"KILL {id_}"))
            deadline = time.monotonic() + 10
            while ids and connection.scalar(text(count_of_connections(ids))):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the server did not close connections {ids}")
                time.sleep(0.01)
        return len(ids)

    return await anyio.to_thread.run_sync(run)
{%- endif %}
