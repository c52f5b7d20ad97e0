"""The test database server: each test run creates a database of its own there, and drops it."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest
from sqlalchemy import NullPool, Row, make_url

from .database import execute, open_engine

# The server on which each test run creates (and afterwards drops) a database of its own.
DEFAULT_SERVER_URL = "{{ cookiecutter.__test_server_url }}"


def server_url() -> str:
    """The test server: TEST_DATABASE_URL, or the one `docker compose up -d db` starts."""
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER_URL)


async def execute_on_server(url: str, *statements: str) -> list[Row[Any]]:
    """Run statements on a connection of their own, outside a transaction (CREATE DATABASE,
    KILL, ...); return the last one's rows."""
    async with open_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool) as engine:
        return await execute(engine, *statements)


@contextmanager
def created_database(create: str, drop: str) -> Iterator[str]:
    """A database made by `create` and dropped by `drop` (their {name} filled in); its URL."""
    url = server_url()
    try:
        anyio.run(execute_on_server, url, "SELECT 1")
    except Exception as exc:
        message = (
            f"{{ cookiecutter.__database_label }} is not reachable at {url} ({exc.__class__.__name__}). "
            "Start one with `docker compose up -d db`, or point TEST_DATABASE_URL at a server."
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    name = f"test_{{ cookiecutter.project_slug }}_{uuid.uuid4().hex[:12]}"
    anyio.run(execute_on_server, url, create.format(name=name))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        anyio.run(execute_on_server, url, drop.format(name=name))
