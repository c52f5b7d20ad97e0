"""What is particular to MySQL and MariaDB: their settings, how the engine is set up for them,
how migrations take turns, and what their errors mean (a `Failure`)."""

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from pydantic import Field
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import DBAPIError

from .budget import BudgetSettings
from .budget import check_connection_budget as check_connection_budget
from .dead_connections import replace_dead_connections
from .engine import ServiceEngine
from .failures import Failure

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

# Table options of every table whose ids clients hold (its models' `__table_args__`): none, as
# InnoDB's AUTO_INCREMENT counter never goes back (it is persisted across restarts too).
NEVER_REUSED_IDS: dict[str, Any] = {}

# Read-only units of work keep their transaction: under MySQL's REPEATABLE READ it gives all their
# statements one snapshot, and switching to autocommit would cost a SET round trip each way.
READ_ONLY_EXECUTION_OPTIONS: dict[str, Any] = {}

# The error number says what happened. PyMySQL (and aiomysql, built on it) files some errors
# under a class that does not, e.g. a failed CHECK constraint is an OperationalError.
ERROR_NUMBER_FAILURE = {
    1062: Failure.CONFLICT,  # duplicate entry
    1451: Failure.CONFLICT,  # row is referenced by a foreign key
    1452: Failure.CONFLICT,  # foreign key target missing
    3819: Failure.CONFLICT,  # CHECK constraint violated (MySQL)
    4025: Failure.CONFLICT,  # CHECK constraint violated (MariaDB)
    1264: Failure.INVALID,  # value out of range for the column
    1406: Failure.INVALID,  # data too long for the column
    1690: Failure.INVALID,  # arithmetic result out of range
    1366: Failure.INVALID,  # incorrect value for the column
    1048: Failure.INVALID,  # NULL for a NOT NULL column
    1040: Failure.UNAVAILABLE,  # too many connections
    2002: Failure.UNAVAILABLE,  # cannot connect (socket)
    2003: Failure.UNAVAILABLE,  # cannot connect (TCP)
    # A database-enforced timeout ended the unit of work.
    1205: Failure.TIMEOUT,  # lock wait timeout
    1969: Failure.TIMEOUT,  # max_statement_time exceeded (MariaDB)
    3024: Failure.TIMEOUT,  # max_execution_time exceeded (MySQL)
    # The connection is gone.
    2006: Failure.LOST_CONNECTION,  # server has gone away
    2013: Failure.LOST_CONNECTION,  # lost connection during query
    2055: Failure.LOST_CONNECTION,  # lost connection (client library)
    4031: Failure.LOST_CONNECTION,  # disconnected for inactivity (MariaDB)
    1927: Failure.LOST_CONNECTION,  # killed by KILL CONNECTION (MariaDB)
    # InnoDB rolled the transaction back in favour of a concurrent one: it chose it as a
    # deadlock's victim (the one that changed fewer rows). The same request may well succeed.
    1213: Failure.DEADLOCK,
    # MariaDB with innodb_snapshot_isolation=ON (the default from 11.6): a locking read or a
    # write found a row changed since the transaction's snapshot ("record has changed since
    # last read"). The same change as a failed version check.
    1020: Failure.STALE,
}
CLIENT_ERRORS = range(2000, 3000)  # raised by the client library: mostly lost connections


# The name of migrations' lock, prefixed with the database's: GET_LOCK names are server-wide.
MIGRATION_LOCK_SUFFIX = ".alembic-migrations"


class DialectSettings(BudgetSettings):
    """The settings that only MySQL services have, or that have its own defaults."""

    # MySQL and MariaDB reserve one connection beyond max_connections for a SUPER user, so all
    # of max_connections is the service's.
    connection_limit_query: ClassVar[str] = "SELECT @@max_connections, 0"

    # Seconds after which a connection is replaced; -1 keeps connections until they fail.
    pool_recycle: int = {{ cookiecutter.__pool_recycle }}
    # Every checkout replaces a connection the server has closed (restart, kill, idle timeout);
    # one idle for longer than this many seconds is also pinged first (0: ping every checkout).
    pool_ping_after_idle: float = Field(default=1.0, ge=0)
    # Limits the server enforces, in seconds (0: none). A unit of work that exceeds one is
    # rolled back and answered 503 with Retry-After. MariaDB's max_statement_time covers every
    # statement; MySQL's max_execution_time only SELECTs. InnoDB counts lock waits in whole
    # seconds, at least 1.
    statement_timeout: float = Field(default=30.0, ge=0)
    lock_timeout: float = Field(default=10.0, ge=0)


def engine_options(_settings: DialectSettings) -> dict[str, Any]:
    """The engine's arguments that depend on the database: none for MySQL."""
    return {}


def read_only_execution_options(_settings: DialectSettings) -> dict[str, Any]:
    return READ_ONLY_EXECUTION_OPTIONS


async def check_database_pooler(_engine: ServiceEngine, _settings: DialectSettings) -> None:
    """A MySQL service has no transaction pooler setting (DATABASE_POOLER) to forget."""


def configure_engine(engine: Engine, settings: DialectSettings) -> None:
    replace_dead_connections(engine, ping_after_idle=settings.pool_ping_after_idle)
    apply_timeouts(engine, settings)


def timeouts_statement(settings: DialectSettings, *, mariadb: bool) -> str | None:
    assignments = []
    if settings.statement_timeout > 0:
        if mariadb:
            assignments.append(f"max_statement_time = {settings.statement_timeout:.3f}")
        else:
            assignments.append(f"max_execution_time = {round(settings.statement_timeout * 1000)}")
    if settings.lock_timeout > 0:
        assignments.append(f"innodb_lock_wait_timeout = {max(1, math.ceil(settings.lock_timeout))}")
    return f"SET SESSION {', '.join(assignments)}" if assignments else None


def apply_timeouts(engine: Engine, settings: DialectSettings) -> None:
    """The limits, as session variables set once per connection: MySQL services connect
    directly (there is no transaction pooler to leak them to another client), and a pooled
    connection keeps them for its life at no cost per transaction."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        # The driver's own connection (PyMySQL's or aiomysql's) knows the server's version.
        server = str(record.driver_connection.get_server_info())
        statement = timeouts_statement(settings, mariadb="MariaDB" in server)
        if statement is None:
            return
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()


@contextmanager
def migration_lock(connection: Connection, timeout: float) -> Iterator[None]:
    """One migration at a time: enter it inside Alembic's transaction, before any migration.

    GET_LOCK belongs to a connection, not a transaction (MySQL's DDL commits implicitly anyway),
    so it is held on a connection of its own, which leaves the migrations' transaction as Alembic
    expects it; closing that connection releases the lock even if the process dies. Raises
    TimeoutError after `timeout` seconds of waiting.
    """
    params = {"suffix": MIGRATION_LOCK_SUFFIX, "timeout": max(0, math.ceil(timeout))}
    with connection.engine.connect() as lock_connection:
        got = lock_connection.execute(
            text("SELECT GET_LOCK(CONCAT(DATABASE(), :suffix), :timeout)"), params
        ).scalar()
        if got != 1:
            raise TimeoutError
        try:
            yield
        finally:
            lock_connection.execute(
                text("SELECT RELEASE_LOCK(CONCAT(DATABASE(), :suffix))"), params
            )


def error_code(exc: DBAPIError) -> str | None:
    """The server's (or client library's) error number, as text, e.g. "1264"."""
    args = exc.driver_exception.args
    return str(args[0]) if args and isinstance(args[0], int) else None


def failure_for(code: str) -> Failure:
    """What an error number means; any other server error (a syntax error, an unknown column,
    ...) is a bug in the service."""
    number = int(code)
    if number in ERROR_NUMBER_FAILURE:
        return ERROR_NUMBER_FAILURE[number]
    return Failure.UNAVAILABLE if number in CLIENT_ERRORS else Failure.INTERNAL
