"""Answers every secured operation may give, for the OpenAPI document: a client generated from
it knows each status, its body and its headers."""

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    detail: str


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
    503: {
        "model": ErrorBody,
        "description": "The database, or the identity provider's keys, are unavailable.",
        "headers": RETRY_AFTER,
    },
}
