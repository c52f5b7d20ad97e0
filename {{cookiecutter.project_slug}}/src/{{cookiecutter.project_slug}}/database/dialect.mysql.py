"""What is particular to MySQL and MariaDB: their settings, how the engine is set up for them,
and what their errors mean for the client."""

from typing import Any

from fastapi import status
from pydantic import Field
from pydantic_settings import BaseSettings
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

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
    1040: status.HTTP_503_SERVICE_UNAVAILABLE,  # too many connections
    1205: status.HTTP_503_SERVICE_UNAVAILABLE,  # lock wait timeout: retry
    1213: status.HTTP_503_SERVICE_UNAVAILABLE,  # deadlock: retry
    2002: status.HTTP_503_SERVICE_UNAVAILABLE,  # cannot connect (socket)
    2003: status.HTTP_503_SERVICE_UNAVAILABLE,  # cannot connect (TCP)
    2006: status.HTTP_503_SERVICE_UNAVAILABLE,  # server has gone away
    2013: status.HTTP_503_SERVICE_UNAVAILABLE,  # lost connection during query
}
CLIENT_ERRORS = range(2000, 3000)  # raised by the client library: mostly lost connections


class DialectSettings(BaseSettings):
    """The settings that only MySQL services have, or that have its own defaults."""

    # Seconds after which a connection is replaced; -1 keeps connections until they fail.
    pool_recycle: int = {{ cookiecutter.__pool_recycle }}
    # Every checkout replaces a connection the server has closed (restart, kill, idle timeout);
    # one idle for longer than this many seconds is also pinged first (0: ping every checkout).
    pool_ping_after_idle: float = Field(default=1.0, ge=0)


def configure_engine(engine: Engine, settings: DialectSettings) -> None:
    replace_dead_connections(engine, ping_after_idle=settings.pool_ping_after_idle)


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
