"""What is particular to PostgreSQL: its settings, how the engine is set up for it (directly or
behind PgBouncer), how migrations take turns, and what its errors mean (a `Failure`)."""

import hashlib
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Literal

from pydantic import Field
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import DBAPIError

from .budget import BudgetSettings
from .budget import check_connection_budget as check_connection_budget
from .dead_connections import replace_dead_connections
from .driver import POOLER_CONNECT_ARGS, add_startup_settings
from .engine import ServiceEngine, fetch_row
from .failures import Failure, StartupCheckError

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

logger = logging.getLogger(__name__)

# Table options of every table whose ids clients hold (its models' `__table_args__`): none, as
# an identity column's sequence never gives a number twice, deleted rows' included.
NEVER_REUSED_IDS: dict[str, Any] = {}

# Read-only units of work run without BEGIN and COMMIT: under PostgreSQL's READ COMMITTED every
# statement takes its own snapshot anyway, so the transaction would only add two round trips.
READ_ONLY_EXECUTION_OPTIONS: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"}
# Behind a transaction pooler they keep their transaction: outside one, PgBouncer may send the
# driver's prepare and its execute to two different server connections.
POOLED_READ_ONLY_EXECUTION_OPTIONS: dict[str, Any] = {}

# The key of migrations' advisory lock: any stable 64-bit number, the same in every replica.
MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.blake2b(b"alembic-migrations", digest_size=8).digest(), "big", signed=True
)
# SQLSTATE of "canceling statement due to lock timeout".
LOCK_NOT_AVAILABLE = "55P03"
# How PgBouncer refuses a startup parameter it neither knows nor ignores (its
# ignore_startup_parameters), with either driver: "unsupported startup parameter: <name>".
REFUSED_STARTUP_PARAMETER = "unsupported startup parameter"
# Where a setting that came with the connection's startup message says it came from.
STARTUP_SOURCE = "client"

# SQLSTATE is the same whatever the driver: asyncpg's and psycopg's exceptions both carry it,
# while their exception classes (and so SQLAlchemy's wrappers) differ. A class (the first two
# characters) says what happened, unless the code itself is listed below.
SQLSTATE_CLASS_FAILURE = {
    "08": Failure.LOST_CONNECTION,  # connection exception
    "22": Failure.INVALID,  # data exception: out of range, too long, ...
    "23": Failure.CONFLICT,  # integrity constraint violation
    "40": Failure.UNAVAILABLE,  # transaction rollback: retry
    "53": Failure.UNAVAILABLE,  # insufficient resources, too many connections
    "57": Failure.UNAVAILABLE,  # operator intervention: shutdown, cancelled
}
SQLSTATE_FAILURE = {
    # A database-enforced timeout ended the unit of work.
    "57014": Failure.TIMEOUT,  # query_canceled: statement_timeout
    LOCK_NOT_AVAILABLE: Failure.TIMEOUT,  # lock_timeout
    "25P03": Failure.TIMEOUT,  # idle_in_transaction_session_timeout
    # The connection is gone: administrator or crash shutdown.
    "57P01": Failure.LOST_CONNECTION,
    "57P02": Failure.LOST_CONNECTION,
    "57P03": Failure.LOST_CONNECTION,
    # The server rolled the transaction back in favour of a concurrent one: it chose it as a
    # deadlock's victim, or could not serialise it. The same request may well succeed.
    "40P01": Failure.DEADLOCK,  # deadlock_detected
    "40001": Failure.DEADLOCK,  # serialization_failure (REPEATABLE READ and SERIALIZABLE)
}


class DialectSettings(BudgetSettings):
    """The settings that only PostgreSQL services have, or that have its own defaults."""

    # "pgbouncer" when DATABASE_URL points at PgBouncer (or another pooler) in transaction pool
    # mode: the driver then prepares no named statements and read-only units of work keep their
    # transaction, so that no statement depends on the server connection of the one before.
    # Left at "none" behind PgBouncer, the start-up check refuses (check_database_pooler).
    database_pooler: Literal["none", "pgbouncer"] = "none"
    # Connections the server accepts, and those kept for superusers (and, from PostgreSQL 16,
    # for pg_use_reserved_connections), which the service cannot use.
    connection_limit_query: ClassVar[str] = (
        "SELECT current_setting('max_connections')::int,"
        " current_setting('superuser_reserved_connections')::int"
        " + coalesce(current_setting('reserved_connections', true)::int, 0)"
    )

    # Seconds after which a connection is replaced; -1 keeps connections until they fail.
    pool_recycle: int = {{ cookiecutter.__pool_recycle }}
    # Every checkout replaces a connection the server has closed (restart, kill, idle timeout);
    # one idle for longer than this many seconds is also pinged first (0: ping every checkout).
    pool_ping_after_idle: float = Field(default=1.0, ge=0)
    # Limits the server enforces on every transaction, in seconds (0: none). A unit of work that
    # exceeds one is rolled back and answered 503 with Retry-After. A lock wait is a statement
    # too: keep lock_timeout below statement_timeout, so the error says which one it was.
    statement_timeout: float = Field(default=30.0, ge=0)
    lock_timeout: float = Field(default=10.0, ge=0)
    # A transaction left idle this long (a stuck worker, a forgotten session) is ended by the
    # server, which frees its locks and its connection.
    idle_in_transaction_timeout: float = Field(default=60.0, ge=0)

    @property
    def behind_transaction_pooler(self) -> bool:
        return self.database_pooler != "none"


def engine_options(settings: DialectSettings) -> dict[str, Any]:
    """The engine's arguments that depend on the database: the driver's, behind a pooler."""
    if settings.behind_transaction_pooler:
        return {"connect_args": dict(POOLER_CONNECT_ARGS)}
    return {}


def read_only_execution_options(settings: DialectSettings) -> dict[str, Any]:
    if settings.behind_transaction_pooler:
        return POOLED_READ_ONLY_EXECUTION_OPTIONS
    return READ_ONLY_EXECUTION_OPTIONS


def configure_engine(engine: Engine, settings: DialectSettings) -> None:
    replace_dead_connections(engine, ping_after_idle=settings.pool_ping_after_idle)
    apply_timeouts(engine, settings)


def timeout_settings(settings: DialectSettings) -> dict[str, str]:
    """The server's settings for the limits, in milliseconds; a limit of 0 is not set."""
    limits = {
        "statement_timeout": settings.statement_timeout,
        "lock_timeout": settings.lock_timeout,
        "idle_in_transaction_session_timeout": settings.idle_in_transaction_timeout,
    }
    return {
        name: str(max(1, round(seconds * 1000))) for name, seconds in limits.items() if seconds > 0
    }


def apply_timeouts(engine: Engine, settings: DialectSettings) -> None:
    """The limits the server enforces on every unit of work.

    Connected directly, they are each connection's own settings, sent with its startup message:
    every transaction, and every read-only unit of work in AUTOCOMMIT, then runs under them at
    no cost per request. Behind a transaction pooler (PgBouncer) a connection's settings would
    reach other clients' transactions, so they are set at the start of every transaction with
    set_config(..., is_local => true) instead, in one statement, and end with it; read-only
    units of work keep their transaction there, so they are bound too.
    """
    limits = timeout_settings(settings)
    if not limits:
        return
    if settings.behind_transaction_pooler:
        calls = [f"set_config('{name}', '{value}', true)" for name, value in limits.items()]
        statement = f"SELECT {', '.join(calls)}"

        @event.listens_for(engine, "begin")
        def on_begin(connection: Connection) -> None:
            if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                connection.exec_driver_sql(statement)

        return

    @event.listens_for(engine, "do_connect")
    def on_connect(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        add_startup_settings(params, limits)


class ForgottenPoolerError(StartupCheckError):
    """DATABASE_URL leads to a transaction pooler, but DATABASE_POOLER says it does not."""


def forgotten_pooler_message(what_happened: str) -> str:
    return (
        f"DATABASE_POOLER=pgbouncer is missing: {what_happened}, as PgBouncer does in front of "
        "the server. Behind a transaction pooler set DATABASE_POOLER=pgbouncer: the limits are "
        "then set in every transaction, and no prepared statement outlives its transaction."
    )


async def check_database_pooler(engine: ServiceEngine, settings: DialectSettings) -> None:
    """Raise ForgottenPoolerError when DATABASE_URL leads to a transaction pooler that
    DATABASE_POOLER does not name. Connected directly, the limits go with each connection's
    startup message; PgBouncer drops them (ignore_startup_parameters) or refuses the connection.
    One query: where the server took its first limit from, which is the client's when it came.
    A database that does not answer is not checked: the service starts, and readiness says 503."""
    limits = timeout_settings(settings)
    if settings.behind_transaction_pooler or not limits:
        return
    setting = next(iter(limits))
    try:
        (source,) = await fetch_row(
            engine, f"SELECT source FROM pg_settings WHERE name = '{setting}'"
        )
    except Exception as error:
        if isinstance(error, DBAPIError) and REFUSED_STARTUP_PARAMETER in str(error.orig):
            refused = "the connection's startup settings were refused"
            raise ForgottenPoolerError(forgotten_pooler_message(refused)) from None
        # Named by class only: a driver's message may quote the URL.
        logger.warning(
            "DATABASE_POOLER not checked: the database did not answer (%s).", type(error).__name__
        )
        return
    if source != STARTUP_SOURCE:
        dropped = f"the connection's startup setting {setting} did not arrive (source {source})"
        raise ForgottenPoolerError(forgotten_pooler_message(dropped))


@contextmanager
def migration_lock(connection: Connection, timeout: float) -> Iterator[None]:
    """One migration at a time: enter it inside Alembic's transaction, before any migration.

    The advisory lock is the transaction's (PostgreSQL runs all migrations in one), so it also
    holds behind a transaction pooler, where a session's lock would not; it is released when the
    migrations commit or fail. Raises TimeoutError after `timeout` seconds of waiting.
    """
    previous = connection.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
    # lock_timeout bounds the wait; it is set back at once, so the migrations keep their own.
    connection.execute(
        text("SELECT set_config('lock_timeout', :timeout, true)"),
        {"timeout": f"{max(1, math.ceil(timeout * 1000))}ms"},
    )
    try:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    except DBAPIError as error:
        if getattr(error.driver_exception, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise TimeoutError from error
        raise
    connection.execute(
        text("SELECT set_config('lock_timeout', :previous, true)"), {"previous": previous}
    )
    yield


def error_code(exc: DBAPIError) -> str | None:
    """The SQLSTATE, e.g. "22003" for integer out of range."""
    sqlstate = getattr(exc.driver_exception, "sqlstate", None)
    return sqlstate if isinstance(sqlstate, str) else None


def failure_for(code: str) -> Failure:
    """What an SQLSTATE means; any class not listed (a syntax error, an unknown column, ...) is
    a bug in the service."""
    return SQLSTATE_FAILURE.get(code) or SQLSTATE_CLASS_FAILURE.get(code[:2], Failure.INTERNAL)
