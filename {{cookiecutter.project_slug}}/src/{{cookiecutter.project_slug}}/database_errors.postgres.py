"""What a PostgreSQL error means for the client, from its SQLSTATE class.

SQLSTATE is the same whatever the driver: asyncpg's and psycopg's exceptions both carry it,
while their exception classes (and so SQLAlchemy's wrappers) differ.
"""

from fastapi import status
from sqlalchemy.exc import DBAPIError

SQLSTATE_CLASS_STATUS = {
    "08": status.HTTP_503_SERVICE_UNAVAILABLE,  # connection exception
    "22": status.HTTP_422_UNPROCESSABLE_CONTENT,  # data exception: out of range, too long, ...
    "23": status.HTTP_409_CONFLICT,  # integrity constraint violation
    "40": status.HTTP_503_SERVICE_UNAVAILABLE,  # serialization failure or deadlock: retry
    "53": status.HTTP_503_SERVICE_UNAVAILABLE,  # insufficient resources, too many connections
    "57": status.HTTP_503_SERVICE_UNAVAILABLE,  # operator intervention: shutdown, cancelled
}


def status_for(exc: DBAPIError) -> int | None:
    """None when the server gave no SQLSTATE (e.g. it could not be reached)."""
    sqlstate = getattr(exc.driver_exception, "sqlstate", None)
    if not isinstance(sqlstate, str):
        return None
    # Any other class (a syntax error, an unknown column, ...) is a bug in the service.
    return SQLSTATE_CLASS_STATUS.get(sqlstate[:2], status.HTTP_500_INTERNAL_SERVER_ERROR)
