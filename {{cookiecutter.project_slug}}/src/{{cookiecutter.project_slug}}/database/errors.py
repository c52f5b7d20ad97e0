"""What went wrong in the database, in the service's own words: one classification per error.

A failed request's exception is classified once (`failure_of`), when the session that saw it
is rolled back or when the HTTP layer answers it, whichever comes first; the other reads the
same answer. The dialect module knows what its database's error codes mean (`failure_for`);
nothing here names a database or an HTTP status.
"""

from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError

from .dialect import error_code, failure_for
from .failures import DatabaseFailure, Failure

# Where the classification is kept on the exception it describes (exceptions take no weak
# references, and a classification lives exactly as long as its exception).
CLASSIFIED = "_database_failure"


def failure_of(error: BaseException) -> DatabaseFailure | None:
    """The classification of a database error; None for an error that is not the database's."""
    known = getattr(error, CLASSIFIED, None)
    if isinstance(known, DatabaseFailure):
        return known
    failure = _classify(error)
    if failure is not None:
        setattr(error, CLASSIFIED, failure)
    return failure


def _classify(error: BaseException) -> DatabaseFailure | None:
    if isinstance(error, StaleDataError):
        # A versioned UPDATE or DELETE matched no row: another writer changed it first.
        return DatabaseFailure(Failure.STALE, None)
    if isinstance(error, PoolTimeoutError):
        return DatabaseFailure(Failure.POOL_EXHAUSTED, None)
    if isinstance(error, DBAPIError) and error.orig is not None:
        code = error_code(error)
        if error.connection_invalidated:
            return DatabaseFailure(Failure.LOST_CONNECTION, code)
        if code is not None:
            return DatabaseFailure(failure_for(code), code)
    if isinstance(error, OperationalError):
        # No code: the driver could not reach the server, or failed below the protocol.
        return DatabaseFailure(Failure.UNAVAILABLE, None)
    if isinstance(error, OSError):
        # Some async drivers (asyncpg) raise connection failures unwrapped.
        return DatabaseFailure(Failure.LOST_CONNECTION, None)
    if isinstance(error, SQLAlchemyError):
        return DatabaseFailure(Failure.INTERNAL, None)
    return None
