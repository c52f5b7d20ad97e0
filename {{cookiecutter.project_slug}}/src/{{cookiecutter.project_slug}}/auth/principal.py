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


@dataclass(frozen=True, slots=True)
class Principal:
    # The token's `sub`: the user (or, for a client-credentials token, the client) it speaks for.
    sub: str
    # The OAuth client that obtained the token (`client_id`, RFC 9068; `azp` in OpenID Connect).
    client_id: str | None
    scopes: frozenset[str]


# AUTH_DISABLED=true: the one principal every request runs as.
LOCAL_PRINCIPAL = Principal(sub="local", client_id="local", scopes=frozenset(SCOPES))
