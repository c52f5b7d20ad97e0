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
    "SQLITE_FULL": status.HTTP_503_SERVICE_UNAVAILABLE,
}


def status_for(exc: DBAPIError) -> int | None:
    driver_exception = exc.driver_exception
    if not isinstance(driver_exception, sqlite3.Error):
        return None
    # e.g. SQLITE_CONSTRAINT_UNIQUE: the primary result code is the first two words.
    primary = "_".join((driver_exception.sqlite_errorname or "").split("_")[:2])
    return ERROR_NAME_STATUS.get(primary)
