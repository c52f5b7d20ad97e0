"""Direct database access for tests, beside the app's own sessions."""

from typing import Any

import anyio
from sqlalchemy import Engine, Row, {% if cookiecutter.database != "sqlite" %}create_engine, {% endif %}text


async def execute(engine: Engine, sql: str, **params: Any) -> list[Row[Any]]:
    """Run one statement in its own committed transaction; return its rows, if any.

    It runs in a worker thread, like the service's own database work, so the event loop that
    drives the app under test stays free.
    """

    def run() -> list[Row[Any]]:
        with engine.begin() as connection:
            result = connection.execute(text(sql), params)
            return list(result) if result.returns_rows else []

    return await anyio.to_thread.run_sync(run)
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
