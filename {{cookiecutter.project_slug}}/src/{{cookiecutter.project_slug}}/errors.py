"""Errors become HTTP responses here, and only here: a JSON body that says what went wrong,
never a stack trace."""

import logging

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "5"


class ItemNotFoundError(HTTPException):
    def __init__(self, item_id: int) -> None:
        super().__init__(status.HTTP_404_NOT_FOUND, f"Item {item_id} not found.")


def _error(status_code: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)


def _unavailable() -> JSONResponse:
    return _error(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        "The database is unavailable or busy; try again later.",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


async def handle_database_error(request: Request, exc: Exception) -> JSONResponse:
    """Map a database error to 409, 422, 503 or 500. The session was already rolled back."""
    if isinstance(exc, IntegrityError):
        return _error(
            status.HTTP_409_CONFLICT,
            "The request conflicts with stored data (a unique, foreign-key or check constraint).",
        )
    if isinstance(exc, DataError):
        return _error(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "A value is out of range or too long for its column.",
        )
    if isinstance(exc, PoolTimeoutError | OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        logger.warning("database unavailable: %s %s: %s", request.method, request.url.path, exc)
        return _unavailable()
    logger.error("database error: %s %s", request.method, request.url.path, exc_info=exc)
    return _error(status.HTTP_500_INTERNAL_SERVER_ERROR, "Internal database error.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SQLAlchemyError, handle_database_error)
