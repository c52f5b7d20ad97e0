"""The `Idempotency-Key` request header (IETF httpapi draft "The Idempotency-Key HTTP Header
Field"; Stripe's behaviour as the reference), read and checked before any database work.

A key is scoped to the caller (the token's `sub`) and the operation (method and route), and
comes with a fingerprint of the request: the unit of work stores both with its effect and
its response, in its own transaction (claims.py). A replayed answer says so in
`Idempotent-Replayed: true` (Stripe's header).
"""

import hashlib
import json
import time
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, HTTPException, Request, Response, status
from fastapi.routing import APIRoute
from pydantic.json_schema import SkipJsonSchema

from ..kit.responses import SECURED
from ..request_context import caller_var
from .claims import Outcome
from .errors import KeyInFlightError, KeyReusedError
from .keys import RequestKey
from .models import KEY_MAX_LENGTH

T = TypeVar("T")

# Visible ASCII but the quote and the backslash, bare or quoted (a structured-field String).
KEY_CHARACTERS = r"[!#-\[\]-~]" + "{1," + str(KEY_MAX_LENGTH) + "}"
KEY_PATTERN = f'^(?:"{KEY_CHARACTERS}"|{KEY_CHARACTERS})$'

DESCRIPTION = (
    "Makes a retry of this request safe: a request with the key of an earlier one that "
    "succeeded is answered with that first response (header `Idempotent-Replayed: true`) and "
    "changes nothing again. A retry while the first is still running waits for it (up to the "
    "database's lock timeout; then 409). The same key with a different request is 422. A key "
    "is the caller's own, for this operation only, kept for the retention the API description "
    "states; a request that failed stored nothing and may be retried with the same key. A "
    'structured-field string (`"..."`) or a bare token: 1 to 255 visible ASCII characters.'
)


def parse_key(value: str) -> str:
    """The key of a header value: a structured-field String as the draft writes it ("..."),
    or the bare value most clients send (Stripe's)."""
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        value = value[1:-1]
    if not 1 <= len(value) <= KEY_MAX_LENGTH or any(
        not 0x21 <= ord(c) <= 0x7E or c in '"\\' for c in value
    ):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"Idempotency-Key must be 1 to {KEY_MAX_LENGTH} visible ASCII characters "
            "(no quotes or backslashes inside), optionally quoted.",
        )
    return value


def fingerprint(request: Request, body: bytes) -> str:
    """What makes two requests the same: path, query and body. A JSON body counts by its
    content (key order and spacing aside), so a client that serialises again still matches."""
    try:
        content = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        content = body
    digest = hashlib.sha256()
    for part in (request.url.path.encode(), request.url.query.encode(), content):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


async def request_key(
    request: Request,
    header: Annotated[
        # Optional, never null. The format is checked by parse_key (a 400, as the draft says),
        # not by the header's validation (a 422); the schema states it for clients.
        str | SkipJsonSchema[None],
        Header(
            alias="Idempotency-Key",
            description=DESCRIPTION,
            json_schema_extra={"pattern": KEY_PATTERN},
        ),
    ] = None,
) -> RequestKey | None:
    # The route's scope gate (auth/dependencies.py) runs first and names the caller; the key
    # is read from it rather than by verifying the token again, which would also declare a
    # second, scope-less security requirement in the OpenAPI document.
    caller = caller_var.get()
    if caller is None:
        raise RuntimeError("an operation that takes an Idempotency-Key must require a scope")
    settings = request.app.state.settings
    if len(request.headers.getlist("idempotency-key")) > 1:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Send one Idempotency-Key header.")
    if header is None:
        if settings.idempotency_key_required:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                "This operation requires an Idempotency-Key header (a new unique value, such "
                "as a UUID, per request; the same value on its retries).",
            )
        return None
    route = request.scope["route"]
    assert isinstance(route, APIRoute)
    now = int(time.time())
    return RequestKey(
        owner=caller[0],
        key=parse_key(header),
        operation=f"{request.method} {route.path}",
        fingerprint=fingerprint(request, await request.body()),
        created_at=now,
        not_before=now - int(settings.idempotency_key_retention),
    )


IdempotencyKeyDep = Annotated[RequestKey | None, Depends(request_key)]


# The response header that marks a replay, as Stripe names it.
REPLAYED = "Idempotent-Replayed"
REPLAYED_HEADER = {
    REPLAYED: {
        "description": "`true` when this is the stored response of an earlier request with "
        "the same Idempotency-Key (nothing was done again).",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def answer(response: Response, outcome: Outcome[T]) -> T:
    """The unit of work's response, marked when it is a replay."""
    if outcome.replayed:
        response.headers[REPLAYED] = "true"
    return outcome.response


def replay_headers(outcome: Outcome[Any]) -> dict[str, str]:
    """The headers that mark a replayed outcome."""
    return {REPLAYED: "true"} if outcome.replayed else {}


# What a keyed operation may refuse besides its own refusals, for the OpenAPI document: the
# claim's (a reused key, one still in flight; pass them to errors.refusals with the operation's
# own, which groups them by status), and a key the header reader refuses (400, beside the 400
# every secured operation may give).
KEY_REFUSALS = (KeyReusedError, KeyInFlightError)
KEY_HEADER_REFUSED: dict[int | str, dict[str, Any]] = {
    400: {
        **SECURED[400],
        "description": "A malformed Idempotency-Key, several, or none where the service "
        f"requires one (IDEMPOTENCY_KEY_REQUIRED). {SECURED[400]['description']}",
    },
}
