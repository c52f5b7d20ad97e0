"""Fixtures of the template's own suite: one baked, installed project per variant, and
databases on the real servers."""

import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import psycopg
import pymysql
import pytest
from sqlalchemy.engine import make_url

from .variants import (
    SERVER_URLS,
    START_SERVER,
    Variant,
    run,
    unique_database_name,
    uv,
    variant_params,
)


@cache
def server_problem(database: str) -> str | None:
    """Why the test server for `database` cannot be used, or None if it answers."""
    url = make_url(SERVER_URLS[database])
    try:
        if database == "postgres":
            psycopg.connect(
                host=url.host,
                port=url.port,
                user=url.username,
                dbname=url.database,
                password=url.password,
                connect_timeout=5,
            ).close()
        else:
            pymysql.connect(
                host=url.host,
                port=url.port,
                user=url.username,
                password=url.password or "",
                connect_timeout=5,
            ).close()
    except Exception as exc:
        return f"{database} server at {url.render_as_string()} does not answer ({exc})"
    return None


def require_server(variant: Variant) -> None:
    """Skip (locally) or fail (under CI) when the variant's database server is unreachable."""
    if variant.database == "sqlite":
        return
    problem = server_problem(variant.database)
    if problem is None:
        return
    message = f"[{variant.id}] {problem}. Start it: {START_SERVER[variant.database]}."
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def server_execute(database: str, sql: str) -> None:
    url = make_url(SERVER_URLS[database])
    if database == "postgres":
        with psycopg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            dbname=url.database,
            password=url.password,
            autocommit=True,
        ) as connection:
            connection.execute(sql)  # type: ignore[arg-type]
    else:
        connection = pymysql.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password or "",
            autocommit=True,
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
        finally:
            connection.close()


@pytest.fixture(scope="session", params=variant_params())
def variant(request: pytest.FixtureRequest) -> Variant:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def baked(variant: Variant, cookies_session) -> Path:  # type: ignore[no-untyped-def]
    result = cookies_session.bake(extra_context=variant.context)
    if result.exit_code != 0:
        pytest.fail(f"[{variant.id}] bake failed: {result.exception!r}", pytrace=False)
    return Path(result.project_path)


@pytest.fixture(scope="session")
def installed(variant: Variant, baked: Path) -> Path:
    """The baked project with a fresh virtual environment made from its own pyproject.toml."""
    run(variant, baked, uv(), "sync", "--quiet", "--no-progress")
    return baked


@pytest.fixture
def fresh_database_url(variant: Variant, tmp_path: Path) -> Iterator[str]:
    """An empty database for this variant, in its own driver's URL; dropped afterwards."""
    server_url = variant.server_url()
    if server_url is None:
        yield f"sqlite+{variant.driver}:///{tmp_path / 'fresh.db'}"
        return
    require_server(variant)
    name = unique_database_name(variant)
    server_execute(variant.database, f"CREATE DATABASE {name}")
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        server_execute(variant.database, f"DROP DATABASE IF EXISTS {name}")
