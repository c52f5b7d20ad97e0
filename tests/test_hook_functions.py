"""The hooks' logic, function by function: choosing variant files, the async->sync rewrite and
its check mode, and the pre-generation checks. The hooks are imported from their template
source; only their `__main__` blocks read a rendered context."""

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from .hook_modules import post_gen, pre_gen
from .variants import CHOICES, TEMPLATE

POSTGRES_SYNC = {"database": "postgres", "mode": "sync", "transaction_style": "begin-context"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("env.sync.py", "env.py"),
        ("env.async.py", None),
        ("compose.postgres.yaml", "compose.yaml"),
        ("compose.sqlite.yaml", None),
        ("services.begin-context.py", "services.py"),
        ("services.flush-commit.py", None),
        ("driver.postgres.sync.py", "driver.py"),
        ("driver.postgres.async.py", None),
        ("driver.mysql.sync.py", None),
        ("tcp_proxy.postgres+mysql.py", "tcp_proxy.py"),
        ("test_failed_commit.mysql+sqlite.py", None),
        # Not variant files: no part names a choice, or a part names choices of two options.
        (".env.example", ".env.example"),
        ("py.typed", "py.typed"),
        ("script.py.mako", "script.py.mako"),
        ("odd.postgres+sync.py", "odd.postgres+sync.py"),
    ],
)
def test_variant_name(name: str, expected: str | None) -> None:
    assert post_gen.variant_name(name, POSTGRES_SYNC, CHOICES) == expected


def test_select_variant_files_renames_and_removes(tmp_path: Path) -> None:
    for name in ("env.sync.py", "env.async.py", "tcp_proxy.postgres+mysql.py", "x.sqlite.py"):
        (tmp_path / name).write_text("x = 1\n", encoding="utf-8")

    post_gen.select_variant_files(tmp_path, POSTGRES_SYNC, CHOICES)

    assert sorted(path.name for path in tmp_path.iterdir()) == ["env.py", "tcp_proxy.py"]


ASYNC_SAMPLE = """\
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from uvicorn.main import main as uvicorn_command

from .settings import Settings


def make(settings: Settings) -> AsyncEngine:
    engine = create_async_engine(settings.url)
    configure(engine.sync_engine)
    return engine


@asynccontextmanager
async def get_session(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with factory() as session:
        yield session
        await session.commit()


async def drain(factory: async_sessionmaker[AsyncSession]) -> None:
    async for row in rows(factory):
        await handle(row)


async def migrate(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.run_sync(run_migrations)


asyncio.run(migrate(make(Settings())))
"""

SYNC_SAMPLE = """\
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Depends
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker
from uvicorn.main import main as uvicorn_command

from .settings import Settings


def make(settings: Settings) -> Engine:
    engine = create_engine(settings.url)
    configure(engine)
    return engine


@contextmanager
def get_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session:
        yield session
        session.commit()


def drain(factory: sessionmaker[Session]) -> None:
    for row in rows(factory):
        handle(row)


def migrate(engine: Engine) -> None:
    with engine.connect() as connection:
        run_migrations(connection)


migrate(make(Settings()))
"""


def test_to_sync_gives_the_expected_sync_module() -> None:
    matched: Counter[str] = Counter()

    assert post_gen.to_sync(ASYNC_SAMPLE, matched) == SYNC_SAMPLE
    assert {rule for rule, count in matched.items() if count} == {
        *post_gen.SYNC_NAMES,
        *post_gen.SYNC_STATEMENTS,
    }


def test_every_sync_rule_matches_the_template_sources() -> None:
    sources = post_gen.template_async_sources(TEMPLATE)

    assert len(sources) >= 5, "the check found too few async sources to mean anything"
    assert post_gen.unmatched_rules(sources) == []


def test_the_check_fails_on_a_rule_that_matches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    sources = post_gen.template_async_sources(TEMPLATE)
    names = {**post_gen.SYNC_NAMES, "AsyncConnection": ("sqlalchemy", "Connection")}
    monkeypatch.setattr(post_gen, "SYNC_NAMES", names)

    assert post_gen.unmatched_rules(sources) == ["AsyncConnection"]


def test_the_check_fails_when_the_code_stops_using_a_rule() -> None:
    without_sync_engine = [source.replace(".sync_engine", "") for source in [ASYNC_SAMPLE]]

    assert post_gen.unmatched_rules(without_sync_engine) == [".sync_engine"]


def test_the_check_mode_runs_from_the_command_line() -> None:
    completed = subprocess.run(
        [sys.executable, str(TEMPLATE / "hooks" / "post_gen_project.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr


def test_next_steps_name_the_variant_and_its_database() -> None:
    context = {**POSTGRES_SYNC, "project_slug": "ledger", "__database_label": "PostgreSQL"}

    steps = post_gen.next_steps(context)

    assert "Created ledger (postgres, sync, begin-context)" in steps
    assert "start PostgreSQL" in steps


def test_the_pre_generation_hook_takes_the_choices_of_cookiecutter_json() -> None:
    context = {"project_name": "Ledger", "project_slug": "ledger", **POSTGRES_SYNC}

    assert pre_gen.problems(context, CHOICES) == []
    assert pre_gen.problems({**context, "mode": "threaded"}, CHOICES) == [
        "mode 'threaded' is not one of the choices: async, sync."
    ]
    # A choice cookiecutter.json offers is accepted, whatever it is.
    extended = {**CHOICES, "mode": [*CHOICES["mode"], "threaded"]}
    assert pre_gen.problems({**context, "mode": "threaded"}, extended) == []


def test_the_template_and_its_suite_agree_on_the_choices() -> None:
    from .variants import DATABASE_FACTS, DATABASES, VARIANTS

    assert list(DATABASES) == CHOICES["database"] == list(DATABASE_FACTS)
    assert len(VARIANTS) == len(CHOICES["database"]) * len(CHOICES["mode"]) * len(
        CHOICES["transaction_style"]
    )
