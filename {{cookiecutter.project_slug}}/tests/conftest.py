"""Fixtures: a real {{ cookiecutter.__database_label }} database migrated with Alembic, and the real app.

Tests are async in every variant: httpx drives the app in-process through ASGI, as a server
would, and the app gets its sessions from the real `get_session` dependency (never overridden).
"""

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack

import httpx
import pytest
from fastapi import FastAPI

from {{ cookiecutter.project_slug }}.settings import Settings

from .support.dialect import POOLERS, created_database
from .support.identity_provider import (
    IdentityProvider,
    auth_environment,
    running_identity_provider,
    set_current,
)
from .support.project import migrate
from .support.serving import Pooler, serve
from .support.tables import empty_tables


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def pytest_configure(config: pytest.Config) -> None:
    # The apps under test leave logging to pytest, which captures records with a handler of
    # its own: create_app's configuration would replace it. The tests of the service's logging
    # configure it themselves (test_logs.py).
    os.environ.setdefault("LOG_CONFIGURE", "false")
    config.addinivalue_line(
        "markers",
        "through_poolers: the test's app also runs behind each transaction pooler the database "
        "can have in front of it (support/dialect.py: POOLERS)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A test marked `through_poolers` runs once as it is and once behind each pooler, whose
    # name ends its id (`[pgbouncer]`): the `pooler` its app's settings are made for.
    marked = metafunc.definition.get_closest_marker("through_poolers") is not None
    if marked and POOLERS and "pooler" in metafunc.fixturenames:
        metafunc.parametrize("pooler", [None, *POOLERS], ids=["direct", *POOLERS])


@pytest.fixture(scope="session", autouse=True)
def identity_provider() -> Iterator[IdentityProvider]:
    """The identity provider every app under test trusts, as a deployed one trusts the team's:
    its JWKS over real HTTP on a free local port. Its settings go into the environment, so every
    Settings() and every uvicorn the tests start reads them."""
    with running_identity_provider() as provider:
        environment = auth_environment(provider)
        previous = {name: os.environ.get(name) for name in environment}
        os.environ.update(environment)
        set_current(provider)
        try:
            yield provider
        finally:
            set_current(None)
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this test run's own, migrated to the latest revision."""
    with created_database(tmp_path_factory.mktemp("database")) as url:
        migrate(url)
        yield url


@pytest.fixture(scope="session")
def poolers() -> Iterator[dict[str, Pooler]]:
    """Every transaction pooler the database can have, running in front of the test server from
    the first test that asks for one to the end of the run."""
    with ExitStack() as stack:
        yield {name: stack.enter_context(start()) for name, start in POOLERS.items()}


@pytest.fixture
def pooler() -> str | None:
    """The transaction pooler between the app and the database: none, unless the test is marked
    `through_poolers` and runs behind one."""
    return None


@pytest.fixture
def app_settings(database_url: str, pooler: str | None, request: pytest.FixtureRequest) -> Settings:
    """The app's default settings for the test database, reached directly or through `pooler`."""
    if pooler is None:
        return Settings(database_url=database_url)
    # Asked for only here: a run without a test behind a pooler starts none.
    running: dict[str, Pooler] = request.getfixturevalue("poolers")
    return running[pooler].settings_for(database_url)


@pytest.fixture
async def served(app_settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with default settings, on empty tables."""
    async with serve(app_settings) as (app, client):
        await empty_tables(app)
        yield app, client


@pytest.fixture
def app(served: tuple[FastAPI, httpx.AsyncClient]) -> FastAPI:
    return served[0]


@pytest.fixture
def client(served: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return served[1]
