"""The vocabulary of database failures: what went wrong, in the service's own words.

The dialect module maps its database's error codes onto it (`failure_for`); `errors.failure_of`
classifies an exception with it; the HTTP layer (`errors.py` of the service) answers each kind,
and the rollback metric counts them. Nothing here names a database or an HTTP status.
"""

import enum
from dataclasses import dataclass


class Failure(enum.StrEnum):
    # A unique, foreign-key or check constraint refused the change.
    CONFLICT = "conflict"
    # A value is out of range or too long for its column.
    INVALID = "invalid"
    # A limit the database enforces (statement or lock-wait timeout) ended the transaction.
    TIMEOUT = "timeout"
    # The database rolled the transaction back for a concurrent one (deadlock, serialization).
    DEADLOCK = "deadlock"
    # The row changed since the unit of work read it: a version check found another writer's
    # change (SQLAlchemy's StaleDataError, or a database's own snapshot check).
    STALE = "stale"
    # The connection went away under the transaction.
    LOST_CONNECTION = "lost_connection"
    # The database cannot be reached or refuses work for now (too many connections, shutdown).
    UNAVAILABLE = "unavailable"
    # The pool gave out no connection within pool_timeout.
    POOL_EXHAUSTED = "pool_exhausted"
    # Anything else the database refused: a bug in the service (a syntax error, a missing column).
    INTERNAL = "internal"


@dataclass(frozen=True, slots=True)
class DatabaseFailure:
    kind: Failure
    # The database's own error code (SQLSTATE, error number, result code), when it gave one.
    code: str | None


class StartupCheckError(RuntimeError):
    """A start-up check refuses to start the service; its message is one line that names the
    setting to change. The lifespan of every worker raises it, and `python -m <package> serve`
    before any worker starts (database/startup.py)."""
