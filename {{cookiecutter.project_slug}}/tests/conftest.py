"""Fixtures: a real {{ cookiecutter.__database_label }} database migrated with Alembic, and the real app.

Tests are async in every variant: httpx drives the app in-process through ASGI, as a server
would, and the app gets its sessions from the real `get_session` dependency (never overridden).
"""

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI

from {{ cookiecutter.project_slug }}.settings import Settings

from .support.dialect import created_database
from .support.serving import serve
from .support.tables import empty_tables

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def pytest_configure(config: pytest.Config) -> None:
    # The apps under test leave logging to pytest, which captures records with a handler of
    # its own: create_app's configuration would replace it. The tests of the service's logging
    # configure it themselves (test_logs.py).
    os.environ.setdefault("LOG_CONFIGURE", "false")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this test run's own, migrated to the latest revision."""
    with created_database(tmp_path_factory.mktemp("database")) as url:
        migrate(url)
        yield url


def migrate(url: str) -> None:
    """Create the schema the documented way: Alembic's `upgrade head`, here in-process."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with default settings, on empty tables."""
    async with serve(Settings(database_url=database_url)) as (app, client):
        await empty_tables(app)
        yield app, client


@pytest.fixture
def app(served: tuple[FastAPI, httpx.AsyncClient]) -> FastAPI:
    return served[0]


@pytest.fixture
def client(served: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return served[1]
