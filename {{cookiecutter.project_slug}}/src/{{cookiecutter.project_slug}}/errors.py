"""Errors become HTTP responses here, and only here: a JSON body that says what went wrong,
never a stack trace."""

import inspect
import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import metrics
from .auth.errors import (
    AuthError,
    InsufficientScopeError,
    KeySetUnavailableError,
    MalformedRequestError,
    MissingTokenError,
)
from .database.capacity import CapacityTimeoutError
from .database.errors import failure_of
from .database.failures import DatabaseFailure, Failure
from .kit.errors import (
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    ServiceError,
    UnprocessableError,
)
from .kit.responses import refusal
from .request_context import request_id_var

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "5"

CONFLICT_DETAIL = (
    "The request conflicts with stored data (a unique, foreign-key or check constraint)."
)
INVALID_DETAIL = "A value is out of range or too long for its column."
UNAVAILABLE_DETAIL = "The database is unavailable or busy; try again later."
INTERNAL_DETAIL = "Internal database error."
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
# A versioned write found the row changed by another writer after this unit of work read it.
STALE_DETAIL = (
    "The row was changed by a concurrent request after this one read it; nothing was changed. "
    "Read it again and retry."
)
CAPACITY_DETAIL = (
    "The service is busy: no database connection became free in time; try again later."
)

# The answer to each kind of database failure: its status and its body's detail.
FAILURE_ANSWERS: dict[Failure, tuple[int, str]] = {
    Failure.CONFLICT: (status.HTTP_409_CONFLICT, CONFLICT_DETAIL),
    Failure.INVALID: (status.HTTP_422_UNPROCESSABLE_CONTENT, INVALID_DETAIL),
    Failure.TIMEOUT: (status.HTTP_503_SERVICE_UNAVAILABLE, TIMEOUT_DETAIL),
    Failure.DEADLOCK: (status.HTTP_503_SERVICE_UNAVAILABLE, DEADLOCK_DETAIL),
    # The same answer as a stale If-Match: the client's view of the row is out of date.
    Failure.STALE: (status.HTTP_412_PRECONDITION_FAILED, STALE_DETAIL),
    Failure.LOST_CONNECTION: (status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE_DETAIL),
    Failure.UNAVAILABLE: (status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE_DETAIL),
    Failure.POOL_EXHAUSTED: (status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE_DETAIL),
    Failure.INTERNAL: (status.HTTP_500_INTERNAL_SERVER_ERROR, INTERNAL_DETAIL),
}

# Each domain error base class (kit/errors.py) and its status; a subclass gets its base's.
DOMAIN_ERROR_STATUS: dict[type[ServiceError], int] = {
    NotFoundError: status.HTTP_404_NOT_FOUND,
    ConflictError: status.HTTP_409_CONFLICT,
    UnprocessableError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    PreconditionFailedError: status.HTTP_412_PRECONDITION_FAILED,
}

# The status of a request the schema refuses (handle_validation_error).
VALIDATION_STATUS = status.HTTP_422_UNPROCESSABLE_CONTENT

# The exceptions that are the client's refusals, not failures: the session layer counts the
# rollbacks they cause as "client_error" (main.py hands them to the session factory).
CLIENT_ERRORS: tuple[type[BaseException], ...] = (
    HTTPException,
    RequestValidationError,
    ServiceError,
    AuthError,
)


def error_fields(exc: BaseException, failure: DatabaseFailure | None) -> dict[str, str | None]:
    """What a log line may say about an error: its class and database code, never its message
    (drivers quote the statement's values in it)."""
    return {
        "error.type": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "db.response.status_code": failure.code if failure is not None else None,
    }


def error_response(status_code: int, detail: str) -> JSONResponse:
    headers = None
    if status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        headers = {"Retry-After": RETRY_AFTER_SECONDS}
    return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)


def log_failure(exc: BaseException, failure: DatabaseFailure) -> None:
    """Failures the client cannot mend are logged; a refused value (409, 422) is the client's."""
    if failure.kind is Failure.DEADLOCK:
        logger.warning("transaction rolled back by the database", extra=error_fields(exc, failure))
    elif failure.kind is Failure.INTERNAL:
        # The traceback's frames, not its messages: see logs.JsonFormatter.
        logger.error("database error", extra=error_fields(exc, failure), exc_info=exc)
    elif failure.kind not in (Failure.CONFLICT, Failure.INVALID, Failure.STALE):
        logger.warning("database unavailable", extra=error_fields(exc, failure))


async def handle_database_error(request: Request, exc: Exception) -> JSONResponse:
    """Answer a database error; `get_session` has already rolled the session back (and
    classified the error: `failure_of` answers from that)."""
    failure = failure_of(exc)
    if failure is None:  # not reached: every SQLAlchemyError is classified
        failure = DatabaseFailure(Failure.INTERNAL, None)
    log_failure(exc, failure)
    return error_response(*FAILURE_ANSWERS[failure.kind])


async def handle_capacity_timeout(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("no database slot became free in time")
    return error_response(status.HTTP_503_SERVICE_UNAVAILABLE, CAPACITY_DETAIL)


async def handle_connection_error(request: Request, exc: Exception) -> JSONResponse:
    """Some async drivers (asyncpg) raise OS errors unwrapped when they cannot connect."""
    logger.warning("cannot reach the database", extra=error_fields(exc, failure_of(exc)))
    return error_response(status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE_DETAIL)


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 with where and what, without echoing the input: it may be huge, or not even text
    (FastAPI's default handler fails with a 500 on a body that is not UTF-8)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [{"loc": error["loc"], "msg": error["msg"], "type": error["type"]} for error in errors]
    return JSONResponse({"detail": detail}, status_code=VALIDATION_STATUS)


async def handle_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """Any other error: logged with its traceback here, answered without it."""
    logger.error("unhandled error", exc_info=exc)
    # Starlette answers this one outside every middleware, so the request id header that
    # middleware.py adds to every other response is added here.
    request_id = request_id_var.get()
    return JSONResponse(
        {"detail": "Internal server error."},
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        headers={"X-Request-ID": request_id} if request_id else None,
    )


def domain_error_status(error: type[ServiceError]) -> int:
    for cls in error.__mro__:
        if cls in DOMAIN_ERROR_STATUS:
            return DOMAIN_ERROR_STATUS[cls]
    # A refusal with no status of its own is still the client's request: 400, never a 500.
    return status.HTTP_400_BAD_REQUEST


def refusals(*causes: type[ServiceError] | Failure) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of what an operation may refuse (`responses=` of its route): each
    domain error (described by its docstring) and each database failure its statements can
    meet, under the status the handlers below answer it with, from the same tables."""
    descriptions: dict[int, list[str]] = {}
    for cause in causes:
        if isinstance(cause, Failure):
            status_code, description = FAILURE_ANSWERS[cause]
        else:
            # The docstring as one line (inspect: a subclass without one has its base's).
            description = " ".join((inspect.getdoc(cause) or "").split())
            status_code = domain_error_status(cause)
        descriptions.setdefault(status_code, []).append(description)
    return {
        status_code: refusal(status_code, texts, validated=status_code == VALIDATION_STATUS)
        for status_code, texts in descriptions.items()
    }


async def handle_service_error(request: Request, exc: Exception) -> JSONResponse:
    """A unit of work refused the request (a resource's errors.py): its status and its own words."""
    assert isinstance(exc, ServiceError)
    body = {"detail": exc.detail, **exc.extra()}
    return JSONResponse(body, status_code=domain_error_status(type(exc)))


def allowed_methods(request: Request) -> list[str]:
    """Every method of the path a request named, as the OpenAPI document lists them (RFC 9110:
    a 405's `Allow`). Starlette's 405 lists only the methods of the route that matched the path
    first, and GET /items and POST /items are two routes."""
    route = request.scope.get("route")
    path = getattr(route, "path_format", None)
    declared = request.app.openapi()["paths"].get(path, {})
    methods = {method.upper() for method in declared} or set(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")  # Starlette answers HEAD wherever it answers GET
    return sorted(methods)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's answer, with a 405's `Allow` from allowed_methods."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        exc.headers = {**(exc.headers or {}), "Allow": ", ".join(allowed_methods(request))}
    return await http_exception_handler(request, exc)


def www_authenticate(exc: AuthError) -> str:
    """The challenge of RFC 6750: no error code when no token was sent."""
    if isinstance(exc, MissingTokenError):
        return "Bearer"
    if isinstance(exc, MalformedRequestError):
        return f'Bearer error="invalid_request", error_description="{exc.description}"'
    if isinstance(exc, InsufficientScopeError):
        return (
            f'Bearer error="insufficient_scope", error_description="{exc.description}", '
            f'scope="{" ".join(exc.needed)}"'
        )
    return f'Bearer error="invalid_token", error_description="{exc.description}"'


async def handle_auth_error(request: Request, exc: Exception) -> JSONResponse:
    """A request refused for its credentials, before any database work (auth/)."""
    assert isinstance(exc, AuthError)
    if request.app.state.settings.metrics_enabled:
        metrics.AUTH_REJECTED_REQUESTS.labels(exc.reason).inc()
    if isinstance(exc, KeySetUnavailableError):
        logger.warning("token not verified: the identity provider's keys are unavailable")
        return error_response(status.HTTP_503_SERVICE_UNAVAILABLE, exc.description)
    if isinstance(exc, InsufficientScopeError):
        status_code = status.HTTP_403_FORBIDDEN
    elif isinstance(exc, MalformedRequestError):
        status_code = status.HTTP_400_BAD_REQUEST
    else:
        status_code = status.HTTP_401_UNAUTHORIZED
    return JSONResponse(
        {"detail": exc.description},
        status_code=status_code,
        headers={"WWW-Authenticate": www_authenticate(exc)},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Exception, handle_unexpected_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(SQLAlchemyError, handle_database_error)
    app.add_exception_handler(OSError, handle_connection_error)
    app.add_exception_handler(CapacityTimeoutError, handle_capacity_timeout)
    app.add_exception_handler(ServiceError, handle_service_error)
    app.add_exception_handler(AuthError, handle_auth_error)
