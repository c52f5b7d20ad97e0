"""The template's option matrix, and how to build and run a baked variant."""

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from itertools import product
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest
from sqlalchemy.engine import make_url

DATABASES = ("sqlite", "postgres", "mysql")
MODES = ("async", "sync")
TRANSACTION_STYLES = ("flush-commit", "begin-context")
DRIVERS = {
    ("sqlite", "async"): "aiosqlite",
    ("sqlite", "sync"): "pysqlite",
    ("postgres", "async"): "asyncpg",
    ("postgres", "sync"): "psycopg",
    ("mysql", "async"): "aiomysql",
    ("mysql", "sync"): "pymysql",
}
# Server URLs without a driver; each variant puts its own driver in. Override to use other servers.
SERVER_URLS = {
    "postgres": os.environ.get(
        "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    ),
    "mysql": os.environ.get("TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql"),
}
START_SERVER = {
    "postgres": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start, "
    "or `docker compose up -d postgres` in the template repository",
    "mysql": "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd, "
    "or `docker compose up -d mysql` in the template repository",
}


@dataclass(frozen=True)
class Variant:
    database: str
    mode: str
    transaction_style: str

    @property
    def id(self) -> str:
        return f"{self.database}-{self.mode}-{self.transaction_style}"

    @property
    def slug(self) -> str:
        return "svc_" + self.id.replace("-", "_")

    @property
    def driver(self) -> str:
        return DRIVERS[self.database, self.mode]

    @property
    def context(self) -> dict[str, str]:
        return {
            "project_name": f"Svc {self.id}",
            "database": self.database,
            "mode": self.mode,
            "transaction_style": self.transaction_style,
        }

    def server_url(self) -> str | None:
        """The test server's URL with this variant's driver, or None for SQLite."""
        if self.database == "sqlite":
            return None
        scheme, rest = SERVER_URLS[self.database].split("://", 1)
        return f"{scheme.split('+')[0]}+{self.driver}://{rest}"


# upgrade head, check (models and migrations agree), downgrade base, upgrade head: alembic's
# own command line, run four times in one interpreter to save three start-ups.
MIGRATION_ROUND_TRIP = [
    ".venv/bin/python",
    "-c",
    "import sys\n"
    "from alembic.config import main\n"
    "for argv in (['upgrade', 'head'], ['check'], ['downgrade', 'base'], ['upgrade', 'head']):\n"
    "    print('alembic', *argv, flush=True)\n"
    "    main(argv=argv, prog='alembic')\n",
]

VARIANTS = [Variant(*options) for options in product(DATABASES, MODES, TRANSACTION_STYLES)]


def variant_params() -> list[object]:
    # One xdist group per variant: its checks share one baked project and one environment.
    return [
        pytest.param(variant, id=variant.id, marks=pytest.mark.xdist_group(variant.id))
        for variant in VARIANTS
    ]


def clean_environment(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that would leak the template's own venv."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT"}
        and not key.startswith("PYTEST_")
    }
    env.update(extra)
    return env


def uv() -> str:
    path = shutil.which("uv")
    if path is None:
        pytest.fail("uv is not on PATH: install it with `python3 -m pip install uv`.")
    return path


def run(
    variant: Variant, project: Path, *command: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command in the baked project; fail the test with its output, naming the variant."""
    completed = subprocess.run(
        command,
        cwd=project,
        env=env or clean_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        pytest.fail(
            f"[{variant.id}] `{' '.join(command)}` exited {completed.returncode}\n"
            f"{completed.stdout}\n{completed.stderr}",
            pytrace=False,
        )
    return completed


@cache
def server_problem(database: str) -> str | None:
    """Why the test server for `database` cannot be used, or None if it answers."""
    try:
        server_execute(database, "SELECT 1")
    except Exception as exc:
        return f"{database} server at {SERVER_URLS[database]} does not answer ({exc})"
    return None


def server_execute(database: str, sql: str) -> None:
    """Run one statement on the test server, outside a transaction."""
    url = make_url(SERVER_URLS[database])
    connection: Any
    if database == "postgres":
        connection = psycopg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            dbname=url.database,
            autocommit=True,
            connect_timeout=5,
        )
    else:
        connection = pymysql.connect(
            host=url.host,
            port=url.port or 3306,
            user=url.username,
            password=url.password or "",
            autocommit=True,
            connect_timeout=5,
        )
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


@contextmanager
def fresh_database(variant: Variant, directory: Path) -> Iterator[str]:
    """An empty database for the variant, as a URL with its own driver; dropped afterwards."""
    server_url = variant.server_url()
    if server_url is None:
        yield f"sqlite+{variant.driver}:///{directory / 'fresh.db'}"
        return
    name = f"tpl_{variant.slug}_{uuid.uuid4().hex[:8]}"
    server_execute(variant.database, f"CREATE DATABASE {name}")
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        server_execute(variant.database, f"DROP DATABASE IF EXISTS {name}")
