"""What is particular to SQLite: its settings, the few settings it needs before it behaves like
a server database under concurrency, and what its errors mean (a `Failure`)."""

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import Field
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

from .engine import ServiceEngine
from .failures import Failure
from .settings import DatabaseSettings

# The interface every dialect module has, and all that the rest of the service asks of one
# (checked against the other databases' by the template's tests/test_dialect_interfaces.py).
__all__ = [
    "NEVER_REUSED_IDS",
    "DialectSettings",
    "check_connection_budget",
    "check_database_pooler",
    "configure_engine",
    "engine_options",
    "error_code",
    "failure_for",
    "migration_lock",
    "read_only_execution_options",
]

# Table options of every table whose ids clients hold (its models' `__table_args__`): without
# AUTOINCREMENT SQLite gives a new row the highest id in use plus one, so the id of the last row
# deleted comes back, and a client that still holds it would reach the new row (migration 0004).
NEVER_REUSED_IDS: dict[str, Any] = {"sqlite_autoincrement": True}

# Execution option of read-only units of work (see session.begin_read_only).
READ_ONLY_OPTION = "read_only"

# Read-only units of work start with a deferred BEGIN (a shared lock, WAL snapshot) instead of
# BEGIN IMMEDIATE, so reads never queue behind a writer's lock.
READ_ONLY_EXECUTION_OPTIONS: dict[str, Any] = {READ_ONLY_OPTION: True}
# Seconds between two tries for the migration lock file.
MIGRATION_LOCK_POLL = 0.1

# What a primary result code (the first two words of the extended one) means.
PRIMARY_CODE_FAILURE = {
    "SQLITE_CONSTRAINT": Failure.CONFLICT,  # unique, foreign key, check, not null
    "SQLITE_TOOBIG": Failure.INVALID,  # string or blob too big
    # Locked past the busy timeout: a timeout ended the unit of work. Retry.
    "SQLITE_BUSY": Failure.TIMEOUT,
    "SQLITE_LOCKED": Failure.TIMEOUT,
    "SQLITE_CANTOPEN": Failure.UNAVAILABLE,
    "SQLITE_IOERR": Failure.UNAVAILABLE,
    "SQLITE_FULL": Failure.UNAVAILABLE,
}


class DialectSettings(DatabaseSettings):
    """The settings that have SQLite's own defaults."""

    # Seconds after which a connection is replaced; -1 keeps connections until they fail.
    pool_recycle: int = {{ cookiecutter.__pool_recycle }}
    # Seconds a transaction waits for another writer's lock (SQLite's busy timeout) before it is
    # rolled back and answered 503 with Retry-After. SQLite has no statement timeout.
    lock_timeout: float = Field(default=30.0, gt=0)


def engine_options(_settings: DialectSettings) -> dict[str, Any]:
    """The engine's arguments that depend on the database: none for SQLite."""
    return {}


def read_only_execution_options(_settings: DialectSettings) -> dict[str, Any]:
    return READ_ONLY_EXECUTION_OPTIONS


async def check_connection_budget(
    _engine: ServiceEngine, _settings: DialectSettings, *, workers: int
) -> None:
    """SQLite has no server and so no connection limit to check."""


async def check_database_pooler(_engine: ServiceEngine, _settings: DialectSettings) -> None:
    """SQLite has no server, and so no transaction pooler in front of one."""


def configure_engine(engine: Engine, settings: DialectSettings) -> None:
    """WAL journal, busy timeout, foreign keys, and BEGIN IMMEDIATE transactions.

    The driver's own transaction handling is switched off and every transaction that may write
    starts with BEGIN IMMEDIATE: one that reads and then writes would otherwise fail at once with
    "database is locked" when another writer holds the lock, and SAVEPOINTs would not work.
    Read-only units of work start with a plain (deferred) BEGIN: in WAL mode they read a snapshot
    while a writer works, instead of queueing for the write lock.
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={max(1, round(settings.lock_timeout * 1000))}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def migration_lock(connection: Connection, timeout: float) -> Iterator[None]:
    """One migration at a time: an exclusive lock on a file beside the database file, so the
    processes that migrate one file at once take turns. Raises TimeoutError after `timeout`
    seconds of waiting. An in-memory database belongs to one process and needs none."""
    database = connection.engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        yield
        return
    lock_path = Path(database).with_name(f"{Path(database).name}.migration-lock")
    with lock_path.open("a") as lock_file:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError from None
                time.sleep(MIGRATION_LOCK_POLL)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def error_code(exc: DBAPIError) -> str | None:
    """The extended result code's name, e.g. "SQLITE_CONSTRAINT_UNIQUE"."""
    name = getattr(exc.driver_exception, "sqlite_errorname", None)
    return name if isinstance(name, str) and name else None


def failure_for(code: str) -> Failure:
    """What a result code means; any other (SQLITE_ERROR: a syntax error, an unknown column,
    ...) is a bug in the service. SQLite has no connection to lose (its database is a file) and
    no deadlocks: every transaction that may write takes the one write lock at BEGIN IMMEDIATE,
    so no writer holds a lock while it waits for another; one that waits too long gets
    SQLITE_BUSY, a timeout."""
    primary = "_".join(code.split("_")[:2])
    return PRIMARY_CODE_FAILURE.get(primary, Failure.INTERNAL)
