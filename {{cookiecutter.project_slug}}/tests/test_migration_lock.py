"""`alembic upgrade head` from many replicas at once: one migrates, the others wait for it and
then find the schema at head. The negative control runs the same without the lock and fails.

The upgrades run in forked processes, as separate replicas would, but without the cost of
starting an interpreter for each: the fork shares what this process has already imported.
"""

import argparse
import multiprocessing
import os
import shutil
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import NullPool

from {{ cookiecutter.project_slug }}.settings import get_settings

from .support.database import execute, open_engine
from .support.dialect import created_database
from .support.project import PROJECT_ROOT

UPGRADES = 4
# Long enough for every upgrade to reach the schema while the first is still migrating.
SLOW_SECONDS = 1.5
PROCESS_TIMEOUT = 60.0
# After the service's own migrations: it waits (a fixed time, or until a file exists), then
# records which process ran it. A table made twice, or two rows, means two processes migrated.
SLOW_MIGRATION = '''"""A slow migration, for the migration lock's tests."""

import os
import time
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "slow_marker"
down_revision = "HEAD"
branch_labels = None
depends_on = None


def upgrade() -> None:
    release = os.environ.get("SLOW_MIGRATION_RELEASE_FILE")
    if release:
        Path(os.environ["SLOW_MIGRATION_STARTED_FILE"]).touch()
        deadline = time.monotonic() + 60
        while not Path(release).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    else:
        time.sleep(float(os.environ["SLOW_MIGRATION_SECONDS"]))
    op.create_table("migration_marker", sa.Column("pid", sa.Integer(), nullable=False))
    op.execute("INSERT INTO migration_marker (pid) VALUES (" + str(os.getpid()) + ")")


def downgrade() -> None:
    op.drop_table("migration_marker")
'''


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own with no tables at all, dropped afterwards."""
    with created_database(tmp_path) as url:
        yield url


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    """The service's migrations, and the slow one after them, in a copy."""
    copy = tmp_path / "migrations"
    shutil.copytree(PROJECT_ROOT / "migrations", copy, ignore=shutil.ignore_patterns("__pycache__"))
    head = ScriptDirectory(str(copy)).get_current_head()
    (copy / "versions" / "slow_marker.py").write_text(SLOW_MIGRATION.replace("HEAD", str(head)))
    return copy


def upgrade_in_child(
    url: str, scripts: Path, report: Path, locked: bool, environment: dict[str, str]
) -> None:
    """The child: `alembic upgrade head`, as a replica's start-up runs it; exit 0 or 1."""
    status = 1
    try:
        os.environ.update(environment)
        get_settings.cache_clear()  # MIGRATION_LOCK_TIMEOUT may differ from the parent's
        x_arguments = [] if locked else ["migration_lock=off"]
        config = Config(
            str(PROJECT_ROOT / "alembic.ini"), cmd_opts=argparse.Namespace(x=x_arguments)
        )
        config.set_main_option("script_location", str(scripts))
        config.attributes["database_url"] = url
        command.upgrade(config, "head")
        status = 0
    except BaseException:
        report.write_text(traceback.format_exc())
    finally:
        os._exit(status)


def start_upgrade(
    url: str, scripts: Path, report: Path, *, locked: bool = True, **environment: str
) -> Any:
    process = multiprocessing.get_context("fork").Process(
        target=upgrade_in_child, args=(url, scripts, report, locked, environment)
    )
    process.start()
    return process


def exit_codes(processes: list[Any]) -> list[int]:
    for process in processes:
        process.join(PROCESS_TIMEOUT)
        if process.exitcode is None:
            process.kill()
            process.join()
    return [process.exitcode for process in processes]


def race(url: str, scripts: Path, tmp_path: Path, *, locked: bool) -> tuple[list[int], str]:
    """UPGRADES upgrades started together on an empty database: their exit codes and errors."""
    reports = [tmp_path / f"upgrade-{number}.txt" for number in range(UPGRADES)]
    processes = [
        start_upgrade(url, scripts, report, locked=locked, SLOW_MIGRATION_SECONDS=str(SLOW_SECONDS))
        for report in reports
    ]
    codes = exit_codes(processes)
    errors = "\n".join(report.read_text() for report in reports if report.exists())
    return codes, errors


async def schema_state(url: str) -> tuple[list[str], int]:
    """The revisions the database is at, and how many processes ran the slow migration."""
    async with open_engine(url, poolclass=NullPool) as engine:
        revisions = await execute(engine, "SELECT version_num FROM alembic_version")
        markers = await execute(engine, "SELECT count(*) FROM migration_marker")
    return [row[0] for row in revisions], int(markers[0][0])


def test_concurrent_upgrades_migrate_once_and_all_succeed(
    empty_database: str, scripts: Path, tmp_path: Path
) -> None:
    codes, errors = race(empty_database, scripts, tmp_path, locked=True)
    assert codes == [0] * UPGRADES, errors
    assert anyio.run(schema_state, empty_database) == (["slow_marker"], 1)


def test_negative_control_without_the_lock_concurrent_upgrades_collide(
    empty_database: str, scripts: Path, tmp_path: Path
) -> None:
    codes, _errors = race(empty_database, scripts, tmp_path, locked=False)
    print(f"without the lock: exit codes {codes}")
    if codes == [0] * UPGRADES:
        # Every upgrade said it succeeded: then more than one of them migrated.
        _revisions, markers = anyio.run(schema_state, empty_database)
        assert markers > 1, "without the lock the upgrades did not collide"


def test_a_lock_held_too_long_fails_with_a_clear_error(
    empty_database: str, scripts: Path, tmp_path: Path
) -> None:
    started, release = tmp_path / "started", tmp_path / "release"
    holder = start_upgrade(
        empty_database,
        scripts,
        tmp_path / "holder.txt",
        SLOW_MIGRATION_STARTED_FILE=str(started),
        SLOW_MIGRATION_RELEASE_FILE=str(release),
    )
    try:
        deadline = time.monotonic() + PROCESS_TIMEOUT
        while not started.exists():
            assert holder.is_alive(), (tmp_path / "holder.txt").read_text()
            assert time.monotonic() < deadline, "the holder did not reach the slow migration"
            time.sleep(0.02)
        report = tmp_path / "waiter.txt"
        waiter = start_upgrade(empty_database, scripts, report, MIGRATION_LOCK_TIMEOUT="0.5")
        assert exit_codes([waiter]) == [1]
        last_line = report.read_text().strip().splitlines()[-1]
        assert "CommandError: Another migration has held the migration lock" in last_line
        assert "MIGRATION_LOCK_TIMEOUT" in last_line
    finally:
        release.touch()
    assert exit_codes([holder]) == [0], (tmp_path / "holder.txt").read_text()
    assert anyio.run(schema_state, empty_database) == (["slow_marker"], 1)
