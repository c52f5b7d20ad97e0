"""Errors become HTTP responses here, and only here: a JSON body that says what went wrong,
never a stack trace."""

import logging

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from .database.dialect import status_for
from .domain_errors import ConflictError, NotFoundError, ServiceError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "5"

DETAILS = {
    status.HTTP_409_CONFLICT: (
        "The request conflicts with stored data (a unique, foreign-key or check constraint)."
    ),
    status.HTTP_422_UNPROCESSABLE_CONTENT: "A value is out of range or too long for its column.",
    status.HTTP_503_SERVICE_UNAVAILABLE: "The database is unavailable or busy; try again later.",
    status.HTTP_500_INTERNAL_SERVER_ERROR: "Internal database error.",
}


# Each domain error class (domain_errors.py) and its status; a subclass gets its base's.
SERVICE_ERROR_STATUS: dict[type[ServiceError], int] = {
    NotFoundError: status.HTTP_404_NOT_FOUND,
    ConflictError: status.HTTP_409_CONFLICT,
}


def status_of(exc: Exception) -> int:
    """The database's own error code decides (the dialect module knows them all, so constraint
    and data errors never reach the fallbacks below); without one, a lost connection, a pool
    timeout or an unreachable server is a 503, and anything else a 500."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        driver_status = status_for(exc)
        if driver_status is not None:
            return driver_status
        if exc.connection_invalidated:
            return status.HTTP_503_SERVICE_UNAVAILABLE
    if isinstance(exc, PoolTimeoutError | OperationalError):
        return status.HTTP_503_SERVICE_UNAVAILABLE
    return status.HTTP_500_INTERNAL_SERVER_ERROR


def error_response(status_code: int) -> JSONResponse:
    headers = None
    if status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        headers = {"Retry-After": RETRY_AFTER_SECONDS}
    return JSONResponse({"detail": DETAILS[status_code]}, status_code=status_code, headers=headers)


async def handle_database_error(request: Request, exc: Exception) -> JSONResponse:
    """Answer a database error; `get_session` has already rolled the session back."""
    status_code = status_of(exc)
    if status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        logger.warning("database unavailable: %s %s: %s", request.method, request.url.path, exc)
    elif status_code == status.HTTP_500_INTERNAL_SERVER_ERROR:
        logger.error("database error: %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(status_code)


async def handle_connection_error(request: Request, exc: Exception) -> JSONResponse:
    """Some async drivers (asyncpg) raise OS errors unwrapped when they cannot connect."""
    logger.warning("cannot reach the database: %s %s: %r", request.method, request.url.path, exc)
    return error_response(status.HTTP_503_SERVICE_UNAVAILABLE)


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 with where and what, without echoing the input: it may be huge, or not even text
    (FastAPI's default handler fails with a 500 on a body that is not UTF-8)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [{"loc": error["loc"], "msg": error["msg"], "type": error["type"]} for error in errors]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def handle_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """Any other error: logged with its traceback here, answered without it."""
    logger.error("unhandled error: %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {"detail": "Internal server error."},
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def service_error_status(exc: ServiceError) -> int:
    for cls in type(exc).__mro__:
        if cls in SERVICE_ERROR_STATUS:
            return SERVICE_ERROR_STATUS[cls]
    # A refusal with no status of its own is still the client's request: 400, never a 500.
    return status.HTTP_400_BAD_REQUEST


async def handle_service_error(request: Request, exc: Exception) -> JSONResponse:
    """A unit of work refused the request (domain_errors.py): its status and its own words."""
    assert isinstance(exc, ServiceError)
    body = {"detail": exc.detail, **exc.extra()}
    return JSONResponse(body, status_code=service_error_status(exc))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Exception, handle_unexpected_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(SQLAlchemyError, handle_database_error)
    app.add_exception_handler(OSError, handle_connection_error)
    app.add_exception_handler(ServiceError, handle_service_error)
