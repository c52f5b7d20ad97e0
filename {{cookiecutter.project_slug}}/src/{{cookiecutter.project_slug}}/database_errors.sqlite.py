"""What a SQLite error means for the client, from its extended result code."""

import sqlite3

from fastapi import status
from sqlalchemy.exc import DBAPIError

ERROR_NAME_STATUS = {
    "SQLITE_CONSTRAINT": status.HTTP_409_CONFLICT,  # unique, foreign key, check, not null
    "SQLITE_TOOBIG": status.HTTP_422_UNPROCESSABLE_CONTENT,  # string or blob too big
    "SQLITE_BUSY": status.HTTP_503_SERVICE_UNAVAILABLE,  # locked past the busy timeout: retry
    "SQLITE_LOCKED": status.HTTP_503_SERVICE_UNAVAILABLE,
    "SQLITE_CANTOPEN": status.HTTP_503_SERVICE_UNAVAILABLE,
    "SQLITE_IOERR": status.HTTP_503_SERVICE_UNAVAILABLE,
    "SQLITE_FULL": status.HTTP_503_SERVICE_UNAVAILABLE,
}


def status_for(exc: DBAPIError) -> int | None:
    """None when the error carries no result code."""
    driver_exception = exc.driver_exception
    if not isinstance(driver_exception, sqlite3.Error) or not driver_exception.sqlite_errorname:
        return None
    # e.g. SQLITE_CONSTRAINT_UNIQUE: the primary result code is the first two words.
    primary = "_".join(driver_exception.sqlite_errorname.split("_")[:2])
    # Any other code (SQLITE_ERROR: a syntax error, an unknown column, ...) is a bug in the service.
    return ERROR_NAME_STATUS.get(primary, status.HTTP_500_INTERNAL_SERVER_ERROR)
