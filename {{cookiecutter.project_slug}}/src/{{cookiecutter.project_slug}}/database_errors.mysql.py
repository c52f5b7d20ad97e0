"""What a MySQL or MariaDB error means for the client, from its error number.

PyMySQL (and aiomysql, built on it) files some errors under a class that does not say what
happened, e.g. a failed CHECK constraint is an OperationalError; the error number does.
"""

from fastapi import status
from sqlalchemy.exc import DBAPIError

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


def status_for(exc: DBAPIError) -> int | None:
    """None when the error carries no error number."""
    args = exc.driver_exception.args
    if not args or not isinstance(args[0], int):
        return None
    if args[0] in ERROR_NUMBER_STATUS:
        return ERROR_NUMBER_STATUS[args[0]]
    if args[0] in CLIENT_ERRORS:
        return status.HTTP_503_SERVICE_UNAVAILABLE
    # Any other server error (a syntax error, an unknown column, ...) is a bug in the service.
    return status.HTTP_500_INTERNAL_SERVER_ERROR
