"""The template's option matrix, what each database means to the template's suite, and how to
build and run a baked variant: the one home of these facts in the suite.

The options and their choices come from cookiecutter.json, as the hooks read them; so do the
databases' drivers. What only the suite needs (the test servers, the images the generated
files name) is in DATABASES below, one row per database.
"""

import json
import os
import re
import shutil
import subprocess
import sys
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

from local_extensions import choice_options

TEMPLATE = Path(__file__).resolve().parent.parent
COOKIECUTTER_JSON = TEMPLATE / "cookiecutter.json"
CHOICES = choice_options(COOKIECUTTER_JSON)
DATABASE_FACTS: dict[str, dict[str, Any]] = json.loads(
    COOKIECUTTER_JSON.read_text(encoding="utf-8")
)["_databases"]


@dataclass(frozen=True)
class Database:
    """What a database means to the template's suite."""

    name: str
    # Words that name it: no other database's variant may contain them.
    words: tuple[str, ...]
    # The container image that the generated compose file and CI workflow run, and its port.
    image: str | None = None
    port: int | None = None
    # The image's environment variable that names the database it creates.
    database_variable: str | None = None
    # The test server's URL without a driver; each variant puts its own driver in.
    server_url: str | None = None
    # How to start the test server on this machine, or where else to get one.
    start: str | None = None

    @property
    def drivers(self) -> dict[str, str]:
        drivers: dict[str, str] = DATABASE_FACTS[self.name]["drivers"]
        return drivers

    @property
    def requirements(self) -> set[str]:
        """The names of the driver packages its variants declare."""
        requirements: dict[str, str] = DATABASE_FACTS[self.name]["requirements"]
        return {
            re.split(r"[\[<>=!~ ]", requirement)[0]
            for requirement in requirements.values()
            if requirement
        }

    @property
    def has_server(self) -> bool:
        return self.server_url is not None


DATABASES = {
    database.name: database
    for database in (
        Database("sqlite", words=("sqlite",)),
        Database(
            "postgres",
            words=("postgres",),
            image="postgres:16",
            port=5432,
            database_variable="POSTGRES_DB",
            # Override to use another server.
            server_url=os.environ.get(
                "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
            ),
            start="pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start, "
            "or `docker compose up -d postgres` in the template repository",
        ),
        Database(
            "mysql",
            words=("mysql", "mariadb"),
            image="mariadb:11",
            port=3306,
            database_variable="MARIADB_DATABASE",
            server_url=os.environ.get("TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql"),
            start="start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd, "
            "or `docker compose up -d mysql` in the template repository",
        ),
    )
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
        return DATABASES[self.database].drivers[self.mode]

    @property
    def context(self) -> dict[str, str]:
        return {
            "project_name": f"Svc {self.id}",
            "database": self.database,
            "mode": self.mode,
            "transaction_style": self.transaction_style,
        }

    @property
    def url_scheme(self) -> str:
        url: str = DATABASE_FACTS[self.database]["url"]
        return url.split("://")[0].replace("{driver}", self.driver)

    def server_url(self) -> str | None:
        """The test server's URL with this variant's driver, or None without a server."""
        server_url = DATABASES[self.database].server_url
        if server_url is None:
            return None
        scheme, rest = server_url.split("://", 1)
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

OPTIONS = ("database", "mode", "transaction_style")
VARIANTS = [Variant(*choices) for choices in product(*(CHOICES[option] for option in OPTIONS))]


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


def bake(
    variant: Variant,
    out: Path,
    *,
    template: Path = TEMPLATE,
    compile_bytecode: bool = False,
    install: bool = True,
) -> Path:
    """Bake `variant` from `template` into `out` and install it from its own pyproject.toml into
    its own `.venv`; the project's directory. The one bake routine of the suite's helpers, the
    mutation matrix and the bench (the suite's per-variant fixtures bake through pytest-cookies).
    `compile_bytecode`: as the generated Dockerfile installs (UV_COMPILE_BYTECODE=1), so that
    every start of a measured server does not compile every module again. `install=False`: bake
    only (a template whose variant cannot be installed, e.g. a test's fake database)."""
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "cookiecutter", str(template.resolve()), "--no-input"]
    command += ["-o", str(out), *(f"{key}={value}" for key, value in variant.context.items())]
    # In a process of its own, run from `out`: `python -m` puts its working directory first on
    # the path, and cookiecutter appends the template's, so run from this repository the real
    # template's local_extensions (its choices) would win over another template's.
    try:
        subprocess.run(
            command, cwd=out, env=clean_environment(), check=True, capture_output=True, text=True
        )
    except subprocess.CalledProcessError as error:
        error.add_note(f"[{variant.id}] cookiecutter's output:\n{error.stdout}{error.stderr}")
        raise
    project = out / variant.slug
    if not install:
        return project
    sync = [uv(), "sync", "--quiet", "--no-progress"]
    if compile_bytecode:
        sync.append("--compile-bytecode")
    subprocess.run(sync, cwd=project, env=clean_environment(), check=True)
    return project


@cache
def server_problem(database: str) -> str | None:
    """Why the test server for `database` cannot be used, or None if it answers."""
    try:
        server_execute(database, "SELECT 1")
    except Exception as exc:
        return f"{database} server at {DATABASES[database].server_url} does not answer ({exc})"
    return None


def server_execute(database: str, sql: str) -> None:
    """Run one statement on the test server, outside a transaction."""
    url = make_url(DATABASES[database].server_url)
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


def require_server(variant: Variant) -> None:
    """Skip (locally) or fail (under CI) when the variant's database server is unreachable."""
    if not DATABASES[variant.database].has_server:
        return
    problem = server_problem(variant.database)
    if problem is None:
        return
    message = f"[{variant.id}] {problem}. Start it: {DATABASES[variant.database].start}."
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@contextmanager
def fresh_database(variant: Variant, directory: Path) -> Iterator[str]:
    """An empty database for the variant, as a URL with its own driver; dropped afterwards."""
    server_url = variant.server_url()
    if server_url is None:
        yield f"{variant.url_scheme}:///{directory / 'fresh.db'}"
        return
    name = f"tpl_{variant.slug}_{uuid.uuid4().hex[:8]}"
    server_execute(variant.database, f"CREATE DATABASE {name}")
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        server_execute(variant.database, f"DROP DATABASE IF EXISTS {name}")


# The slowest modules of a baked suite whose code under test does not depend on the
# transaction style: worker processes and their drain, metrics across processes, concurrent
# migrations, token verification against a JWKS server, lost connections, PgBouncer, hostile
# input, and the OpenAPI contract (the fuzz
# test: what it drives below the routes, the units of work, is held equal across the styles
# by tests/test_transaction_styles.py and exercised in every variant by the other modules).
# The template's run takes them in one style of each database and mode (FULL_SUITE), which
# is also one of each database and style; a baked service's own `uv run pytest` runs them all.
STYLE_INDEPENDENT_SLOW_MODULES = (
    "test_fuzz.py",
    "test_workers.py",
    "test_metrics_multiprocess.py",
    "test_migration_lock.py",
    "test_auth_tokens.py",
    "test_openapi.py",
    # Connections the server kills, PgBouncer's driver settings, hostile input refused before
    # any unit of work: the pool's, the driver's and the validation's, whatever the style.
    "test_lost_connections.py",
    "test_pgbouncer.py",
    "test_hostile_input.py",
)


def service_test_modules() -> set[str]:
    """The generated suite's test modules as a baked service names them (`test_budget.py` for
    the template's `test_budget.postgres+mysql.py`), in any variant."""
    project_tests = TEMPLATE / "{{cookiecutter.project_slug}}" / "tests"
    return {path.name.split(".")[0] + ".py" for path in project_tests.glob("test_*.py")}


def runs_full_suite(variant: Variant) -> bool:
    """flush-commit in async variants, begin-context in sync ones (FULL_SUITE)."""
    return (variant.mode == "async") == (variant.transaction_style == "flush-commit")


def covering_suite_args(variant: Variant) -> tuple[str, ...]:
    """The pytest arguments of the template's run of `variant`'s own suite."""
    if runs_full_suite(variant):
        return ()
    return tuple(f"--ignore=tests/{module}" for module in STYLE_INDEPENDENT_SLOW_MODULES)


def run_baked_suite(
    variant: Variant, project: Path, *pytest_args: str, ci: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a baked service's own test suite against the test server; fail on any failure.

    With `ci`, CI=true is set, so the suite fails instead of skipping when a server is missing,
    and a suite that skipped anything fails here: every test a variant has must run.
    """
    env = clean_environment(CI="true") if ci else clean_environment()
    server_url = variant.server_url()
    if server_url is not None:
        env["TEST_DATABASE_URL"] = server_url
    command = [".venv/bin/python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args]
    completed = run(variant, project, *command, env=env)
    summary = completed.stdout.strip().splitlines()[-1]
    assert " passed" in summary, f"[{variant.id}] {summary}"
    assert "failed" not in summary and "error" not in summary, f"[{variant.id}] {summary}"
    if ci:
        assert "skipped" not in summary, f"[{variant.id}] skipped in CI: {summary}"
    return completed
