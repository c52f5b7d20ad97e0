"""Who is calling: the subject of a verified token, and what it may do."""

from dataclasses import dataclass

# Every scope an operation asks for; a principal with none of these may still call the public
# routes (health, readiness, metrics, the OpenAPI document).
SCOPES = {
    "items:read": "Read the item catalogue.",
    "items:write": "Create, change and delete items.",
    "orders:read": "Read the caller's own orders.",
    "orders:write": "Place and cancel the caller's own orders.",
}

# The longest `sub` a token may carry: OpenID Connect caps it at 255 ASCII characters, and the
# tables that record who did what (orders' owner, idempotency keys) hold that much. A longer one
# is an invalid token (401), refused before any unit of work, not a write that fails later.
SUB_MAX_LENGTH = 255


@dataclass(frozen=True, slots=True)
class Principal:
    # The token's `sub`: the user (or, for a client-credentials token, the client) it speaks for.
    sub: str
    # The OAuth client that obtained the token (`client_id`, RFC 9068; `azp` in OpenID Connect).
    client_id: str | None
    scopes: frozenset[str]


# AUTH_DISABLED=true: the one principal every request runs as.
LOCAL_PRINCIPAL = Principal(sub="local", client_id="local", scopes=frozenset(SCOPES))
