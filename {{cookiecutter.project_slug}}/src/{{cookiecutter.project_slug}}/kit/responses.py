"""Answers operations may give, for the OpenAPI document: a client generated from it knows each
status, its body and its headers. SECURED is what every secured operation may answer; the
refusals of each operation are declared from the same tables its answers come from
(`errors.refusals`, which builds them with `refusal` below)."""

from collections.abc import Sequence
from typing import Any

from fastapi import status
from pydantic import BaseModel


class ErrorBody(BaseModel):
    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    """A request the schema refuses (errors.handle_validation_error): where and what."""

    detail: list[FieldError]


CHALLENGE = {
    "WWW-Authenticate": {
        "description": "The Bearer challenge (RFC 6750): `error`, `error_description` and, "
        "for 403, the `scope` the operation needs.",
        "schema": {"type": "string"},
    }
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}

SECURED: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "Several Authorization headers.",
        "headers": CHALLENGE,
    },
    401: {
        "model": ErrorBody,
        "description": "No bearer token, or one that is not valid (signature, issuer, audience, "
        "expiry, key).",
        "headers": CHALLENGE,
    },
    403: {
        "model": ErrorBody,
        "description": "The token is valid but lacks the scope the operation needs.",
        "headers": CHALLENGE,
    },
    status.HTTP_503_SERVICE_UNAVAILABLE: {
        "model": ErrorBody,
        "description": "The database, or the identity provider's keys, are unavailable.",
        "headers": RETRY_AFTER,
    },
}


def refusal(status_code: int, descriptions: Sequence[str], *, validated: bool) -> dict[str, Any]:
    """The declaration of one refusal status, with the error body the service answers it with.
    `validated`: requests the schema refuses share the status, with a body of their own (a
    declared 422 replaces the one FastAPI would add for them)."""
    if validated:
        descriptions = [*descriptions, "Or the request does not match the schema: where and what."]
    declaration: dict[str, Any] = {
        "model": ValidationErrorBody | ErrorBody if validated else ErrorBody,
        "description": " ".join(descriptions),
    }
    if status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        declaration["headers"] = RETRY_AFTER
    return declaration
