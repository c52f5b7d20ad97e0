"""The template's option matrix, and how to build and run a baked variant."""

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import pytest

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


def unique_database_name(variant: Variant) -> str:
    return f"tpl_{variant.slug}_{uuid.uuid4().hex[:8]}"
