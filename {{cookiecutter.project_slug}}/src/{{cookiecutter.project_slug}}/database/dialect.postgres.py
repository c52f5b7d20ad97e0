"""What is particular to PostgreSQL: its settings, how the engine is set up for it, and what
its errors mean for the client."""

from typing import Any

from fastapi import status
from pydantic import Field
from pydantic_settings import BaseSettings
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from .dead_connections import replace_dead_connections

# Read-only units of work run without BEGIN and COMMIT: under PostgreSQL's READ COMMITTED every
# statement takes its own snapshot anyway, so the transaction would only add two round trips.
READ_ONLY_EXECUTION_OPTIONS: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"}

# SQLSTATE is the same whatever the driver: asyncpg's and psycopg's exceptions both carry it,
# while their exception classes (and so SQLAlchemy's wrappers) differ.
SQLSTATE_CLASS_STATUS = {
    "08": status.HTTP_503_SERVICE_UNAVAILABLE,  # connection exception
    "22": status.HTTP_422_UNPROCESSABLE_CONTENT,  # data exception: out of range, too long, ...
    "23": status.HTTP_409_CONFLICT,  # integrity constraint violation
    "40": status.HTTP_503_SERVICE_UNAVAILABLE,  # serialization failure or deadlock: retry
    "53": status.HTTP_503_SERVICE_UNAVAILABLE,  # insufficient resources, too many connections
    "57": status.HTTP_503_SERVICE_UNAVAILABLE,  # operator intervention: shutdown, cancelled
}


class DialectSettings(BaseSettings):
    """The settings that only PostgreSQL services have, or that have its own defaults."""

    # Seconds after which a connection is replaced; -1 keeps connections until they fail.
    pool_recycle: int = {{ cookiecutter.__pool_recycle }}
    # Every checkout replaces a connection the server has closed (restart, kill, idle timeout);
    # one idle for longer than this many seconds is also pinged first (0: ping every checkout).
    pool_ping_after_idle: float = Field(default=1.0, ge=0)


def configure_engine(engine: Engine, settings: DialectSettings) -> None:
    replace_dead_connections(engine, ping_after_idle=settings.pool_ping_after_idle)


def status_for(exc: DBAPIError) -> int | None:
    """The HTTP status for a database error, from its SQLSTATE class; None when the server gave
    no SQLSTATE (e.g. it could not be reached)."""
    sqlstate = getattr(exc.driver_exception, "sqlstate", None)
    if not isinstance(sqlstate, str):
        return None
    # Any other class (a syntax error, an unknown column, ...) is a bug in the service.
    return SQLSTATE_CLASS_STATUS.get(sqlstate[:2], status.HTTP_500_INTERNAL_SERVER_ERROR)
