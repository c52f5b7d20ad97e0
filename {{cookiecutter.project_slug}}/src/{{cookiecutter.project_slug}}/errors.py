"""Errors become HTTP responses here, and only here: a JSON body that says what went wrong,
never a stack trace."""

import logging

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from .database.dialect import error_code, is_deadlock, is_lost_connection, is_timeout, status_for
from .domain_errors import ConflictError, NotFoundError, ServiceError
from .logs import request_id_var

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
# A statement or lock wait ended by the database's own timeout (settings statement_timeout,
# lock_timeout): the transaction was rolled back, and the same request may well succeed later.
TIMEOUT_DETAIL = (
    "The database did not finish in time (a statement or lock-wait timeout); "
    "nothing was changed. Try again later."
)
# A transaction the database rolled back in favour of a concurrent one (the victim of a deadlock,
# or one it could not serialise): nothing of it was kept, and the same request may well succeed.
DEADLOCK_DETAIL = (
    "The transaction conflicted with a concurrent one (a deadlock or serialization failure) "
    "and was rolled back; nothing was changed. Try again."
)
CAPACITY_DETAIL = (
    "The service is busy: no database connection became free in time; try again later."
)


class CapacityTimeoutError(Exception):
    """No database slot became free within `capacity_timeout` seconds."""


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


def database_error_code(exc: BaseException) -> str | None:
    """The database's own error code, as its dialect module reads it."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return error_code(exc)
    return None


def error_type(exc: BaseException) -> str:
    return f"{type(exc).__module__}.{type(exc).__qualname__}"


def rollback_cause(exc: BaseException) -> str:
    """Why a unit of work was rolled back: one of metrics.ROLLBACK_CAUSES. The database's code
    decides, as for the status: asyncpg's errors, for one, all arrive as plain DBAPIError."""
    if isinstance(exc, HTTPException | RequestValidationError | ServiceError):
        return "client_error"
    if isinstance(exc, PoolTimeoutError | CapacityTimeoutError):
        return "timeout"
    if isinstance(exc, OSError):  # asyncpg raises some connection failures unwrapped
        return "lost_connection"
    if isinstance(exc, DBAPIError):
        code = database_error_code(exc)
        if exc.connection_invalidated or (code is not None and is_lost_connection(code)):
            return "lost_connection"
        if code is not None and is_timeout(code):
            return "timeout"
        if code is not None and is_deadlock(code):
            return "deadlock"
    if isinstance(exc, Exception):
        # Not named status_code: the mutation matrix edits handle_database_error's line by it.
        answer = status_of(exc)
        if answer == status.HTTP_409_CONFLICT:
            return "integrity"
        if answer == status.HTTP_422_UNPROCESSABLE_CONTENT:
            return "data_error"
    return "other"


def error_fields(exc: BaseException) -> dict[str, str | None]:
    """What a log line may say about an error: its class and database code, never its message
    (drivers quote the statement's values in it)."""
    return {"error.type": error_type(exc), "db.response.status_code": database_error_code(exc)}


def error_response(status_code: int, detail: str | None = None) -> JSONResponse:
    headers = None
    if status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        headers = {"Retry-After": RETRY_AFTER_SECONDS}
    return JSONResponse(
        {"detail": detail or DETAILS[status_code]}, status_code=status_code, headers=headers
    )


async def handle_database_error(request: Request, exc: Exception) -> JSONResponse:
    """Answer a database error; `get_session` has already rolled the session back."""
    status_code = status_of(exc)
    if status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        cause = rollback_cause(exc)
        if cause == "deadlock":
            logger.warning("transaction rolled back by the database", extra=error_fields(exc))
            return error_response(status_code, DEADLOCK_DETAIL)
        logger.warning("database unavailable", extra=error_fields(exc))
        if cause == "timeout" and not isinstance(exc, PoolTimeoutError):
            return error_response(status_code, TIMEOUT_DETAIL)
    elif status_code == status.HTTP_500_INTERNAL_SERVER_ERROR:
        # The traceback's frames, not its messages: see logs.JsonFormatter.
        logger.error("database error", extra=error_fields(exc), exc_info=exc)
    return error_response(status_code)


async def handle_capacity_timeout(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("no database slot became free in time")
    return error_response(status.HTTP_503_SERVICE_UNAVAILABLE, CAPACITY_DETAIL)


async def handle_connection_error(request: Request, exc: Exception) -> JSONResponse:
    """Some async drivers (asyncpg) raise OS errors unwrapped when they cannot connect."""
    logger.warning("cannot reach the database", extra=error_fields(exc))
    return error_response(status.HTTP_503_SERVICE_UNAVAILABLE)


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 with where and what, without echoing the input: it may be huge, or not even text
    (FastAPI's default handler fails with a 500 on a body that is not UTF-8)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [{"loc": error["loc"], "msg": error["msg"], "type": error["type"]} for error in errors]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def handle_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """Any other error: logged with its traceback here, answered without it."""
    logger.error("unhandled error", exc_info=exc)
    # Starlette answers this one outside every middleware, so the request id header that
    # request_context.py adds to every other response is added here.
    request_id = request_id_var.get()
    return JSONResponse(
        {"detail": "Internal server error."},
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        headers={"X-Request-ID": request_id} if request_id else None,
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
    app.add_exception_handler(CapacityTimeoutError, handle_capacity_timeout)
    app.add_exception_handler(ServiceError, handle_service_error)
