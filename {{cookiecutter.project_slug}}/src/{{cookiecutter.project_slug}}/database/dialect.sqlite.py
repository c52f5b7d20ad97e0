"""What is particular to SQLite: its settings, the few settings it needs before it behaves like
a server database under concurrency, and what its errors mean for the client."""

import fcntl
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import status
from pydantic import Field
from pydantic_settings import BaseSettings
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

from .lifecycle import ServiceEngine

# Execution option of read-only units of work (see session.begin_read_only).
READ_ONLY_OPTION = "read_only"

# Read-only units of work start with a deferred BEGIN (a shared lock, WAL snapshot) instead of
# BEGIN IMMEDIATE, so reads never queue behind a writer's lock.
READ_ONLY_EXECUTION_OPTIONS: dict[str, Any] = {READ_ONLY_OPTION: True}
# Seconds between two tries for the migration lock file.
MIGRATION_LOCK_POLL = 0.1

ERROR_NAME_STATUS = {
    "SQLITE_CONSTRAINT": status.HTTP_409_CONFLICT,  # unique, foreign key, check, not null
    "SQLITE_TOOBIG": status.HTTP_422_UNPROCESSABLE_CONTENT,  # string or blob too big
    "SQLITE_BUSY": status.HTTP_503_SERVICE_UNAVAILABLE,  # locked past the busy timeout: retry
    "SQLITE_LOCKED": status.HTTP_503_SERVICE_UNAVAILABLE,
    "SQLITE_CANTOPEN": status.HTTP_503_SERVICE_UNAVAILABLE,
    "SQLITE_IOERR": status.HTTP_503_SERVICE_UNAVAILABLE,
    "SQLITE_FULL": status.HTTP_503_SERVICE_UNAVAILABLE,
}
# Primary result codes that mean a timeout ended the unit of work (the busy timeout).
TIMEOUT_PRIMARY_CODES = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED"})


class DialectSettings(BaseSettings):
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


async def check_connection_budget(_engine: ServiceEngine, _settings: DialectSettings) -> None:
    """SQLite has no server and so no connection limit to check."""


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


def status_for(exc: DBAPIError) -> int | None:
    """The HTTP status for a database error, from its extended result code; None when the
    error carries no result code."""
    driver_exception = exc.driver_exception
    if not isinstance(driver_exception, sqlite3.Error) or not driver_exception.sqlite_errorname:
        return None
    # e.g. SQLITE_CONSTRAINT_UNIQUE: the primary result code is the first two words.
    primary = "_".join(driver_exception.sqlite_errorname.split("_")[:2])
    # Any other code (SQLITE_ERROR: a syntax error, an unknown column, ...) is a bug in the service.
    return ERROR_NAME_STATUS.get(primary, status.HTTP_500_INTERNAL_SERVER_ERROR)


def error_code(exc: DBAPIError) -> str | None:
    """The extended result code's name, e.g. "SQLITE_CONSTRAINT_UNIQUE"."""
    name = getattr(exc.driver_exception, "sqlite_errorname", None)
    return name if isinstance(name, str) else None


def is_lost_connection(_code: str) -> bool:
    """SQLite has no connection to lose: its database is a file."""
    return False


def is_timeout(code: str) -> bool:
    return "_".join(code.split("_")[:2]) in TIMEOUT_PRIMARY_CODES


def is_deadlock(_code: str) -> bool:
    """SQLite has no deadlocks: every transaction that may write takes the one write lock at
    BEGIN IMMEDIATE, so no writer holds a lock while it waits for another; one that waits too
    long gets SQLITE_BUSY, a timeout."""
    return False
