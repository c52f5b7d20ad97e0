"""Fixtures: a real {{ cookiecutter.__database_label }} database migrated with Alembic, and the real app.

Tests are async in every variant: httpx drives the app in-process through ASGI, as a server
would, and the app gets its sessions from the real `get_session` dependency (never overridden).
"""
{% if cookiecutter.database != "sqlite" %}
import os
import uuid
{%- endif %}
from collections.abc import AsyncIterator{% if cookiecutter.database != "sqlite" %}, Iterator{% endif %}
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
{%- if cookiecutter.database != "sqlite" %}
from sqlalchemy import make_url
{%- endif %}

from {{ cookiecutter.project_slug }}.settings import Settings

from .database import execute{% if cookiecutter.database != "sqlite" %}, execute_on_server{% endif %}
from .serving import serve

PROJECT_ROOT = Path(__file__).resolve().parent.parent
{%- if cookiecutter.database != "sqlite" %}
# The server on which each test run creates (and afterwards drops) a database of its own.
DEFAULT_SERVER_URL = "{{ cookiecutter.__test_server_url }}"
{%- endif %}


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"
{% if cookiecutter.database == "sqlite" %}

@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh SQLite file, migrated to the latest revision."""
    path = tmp_path_factory.mktemp("database") / "test.db"
    url = f"{{ cookiecutter.__url_scheme }}:///{path}"
    migrate(url)
    return url
{%- else %}

@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database created for this run on the test server, migrated, and dropped afterwards."""
    server_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER_URL)
    try:
        execute_on_server(server_url, "SELECT 1")
    except Exception as exc:
        message = (
            f"{{ cookiecutter.__database_label }} is not reachable at {server_url} ({exc.__class__.__name__}). "
            "Start one with `docker compose up -d db`, or point TEST_DATABASE_URL at a server."
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    name = f"test_{{ cookiecutter.project_slug }}_{uuid.uuid4().hex[:12]}"
    execute_on_server(server_url, f"CREATE DATABASE {name}{% if cookiecutter.database == "mysql" %} CHARACTER SET utf8mb4{% endif %}")
    try:
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        migrate(url)
        yield url
    finally:
        execute_on_server(server_url, f"DROP DATABASE {name}{% if cookiecutter.database == "postgres" %} WITH (FORCE){% endif %}")
{%- endif %}


def migrate(url: str) -> None:
    """Create the schema the documented way: Alembic's `upgrade head`, here in-process."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with default settings, on an empty items table."""
    async with serve(Settings(database_url=database_url)) as (app, client):
        await execute(app.state.engine, "DELETE FROM items")
        yield app, client


@pytest.fixture
def app(served: tuple[FastAPI, httpx.AsyncClient]) -> FastAPI:
    return served[0]


@pytest.fixture
def client(served: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return served[1]
