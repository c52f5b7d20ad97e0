"""What is particular to MySQL and MariaDB: their settings, how the engine is set up for them,
how migrations take turns, and what their errors mean for the client."""

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from fastapi import status
from pydantic import Field
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import DBAPIError

from .budget import BudgetSettings
from .budget import check_connection_budget as check_connection_budget
from .dead_connections import replace_dead_connections

# Read-only units of work keep their transaction: under MySQL's REPEATABLE READ it gives all their
# statements one snapshot, and switching to autocommit would cost a SET round trip each way.
READ_ONLY_EXECUTION_OPTIONS: dict[str, Any] = {}

# The error number says what happened. PyMySQL (and aiomysql, built on it) files some errors
# under a class that does not, e.g. a failed CHECK constraint is an OperationalError.
ERROR_NUMBER_STATUS = {
    1062: status.HTTP_409_CONFLICT,  # duplicate entry
    1451: status.HTTP_409_CONFLICT,  # row is referenced by a foreign key
    1452: status.HTTP_409_CONFLICT,  # foreign key target missing
    3819: status.HTTP_409_CONFLICT,  # CHECK constraint violated (MySQL)
    4025: status.HTTP_409_CONFLICT,  # CHECK constraint violated (MariaDB)
    1264: status.HTTP_422_UNPROCESSABLE_CONTENT,  # value out of range for the column
    1406: status.HTTP_422_UNPROCESSABLE_CONTENT,  # data too long for the column
    1690: status.HTTP_422_UNPROCESSABLE_CONTENT,  # arithmetic result out of range
    1366: status.HTTP_422_UNPROCESSABLE_CONTENT,  # incorrect value for the column
    1048: status.HTTP_422_UNPROCESSABLE_CONTENT,  # NULL for a NOT NULL column
    1040: status.HTTP_503_SERVICE_UNAVAILABLE,  # too many connections
    1205: status.HTTP_503_SERVICE_UNAVAILABLE,  # lock wait timeout: retry
    1213: status.HTTP_503_SERVICE_UNAVAILABLE,  # deadlock: retry
    2002: status.HTTP_503_SERVICE_UNAVAILABLE,  # cannot connect (socket)
    2003: status.HTTP_503_SERVICE_UNAVAILABLE,  # cannot connect (TCP)
    2006: status.HTTP_503_SERVICE_UNAVAILABLE,  # server has gone away
    2013: status.HTTP_503_SERVICE_UNAVAILABLE,  # lost connection during query
    1969: status.HTTP_503_SERVICE_UNAVAILABLE,  # max_statement_time exceeded (MariaDB)
    3024: status.HTTP_503_SERVICE_UNAVAILABLE,  # max_execution_time exceeded (MySQL)
    4031: status.HTTP_503_SERVICE_UNAVAILABLE,  # disconnected for inactivity (MariaDB)
}
# Errors that mean a database-enforced timeout ended the unit of work.
TIMEOUT_CODES = frozenset({"1205", "1969", "3024"})
# Errors that mean the connection is gone; 1927: killed by KILL CONNECTION (MariaDB).
LOST_CONNECTION_CODES = frozenset({"2006", "2013", "2055", "4031", "1927"})
# Errors that mean InnoDB rolled the transaction back in favour of a concurrent one: it chose it
# as a deadlock's victim (the one that changed fewer rows). The same request may well succeed.
DEADLOCK_CODES = frozenset({"1213"})
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


def status_for(exc: DBAPIError) -> int | None:
    """The HTTP status for a database error, from its error number; None when the error
    carries none."""
    args = exc.driver_exception.args
    if not args or not isinstance(args[0], int):
        return None
    if args[0] in ERROR_NUMBER_STATUS:
        return ERROR_NUMBER_STATUS[args[0]]
    if args[0] in CLIENT_ERRORS:
        return status.HTTP_503_SERVICE_UNAVAILABLE
    # Any other server error (a syntax error, an unknown column, ...) is a bug in the service.
    return status.HTTP_500_INTERNAL_SERVER_ERROR


def error_code(exc: DBAPIError) -> str | None:
    """The server's (or client library's) error number, as text, e.g. "1264"."""
    args = exc.driver_exception.args
    return str(args[0]) if args and isinstance(args[0], int) else None


def is_lost_connection(code: str) -> bool:
    return code in LOST_CONNECTION_CODES


def is_timeout(code: str) -> bool:
    return code in TIMEOUT_CODES


def is_deadlock(code: str) -> bool:
    return code in DEADLOCK_CODES
