"""Why a request was refused before any work: its credentials, not its data. Free of HTTP:
`errors.py` of the service answers each (401, 403, 400 or 503, with `WWW-Authenticate`)."""


class AuthError(Exception):
    """`reason` labels the rejection metric; `description` is safe to show the client (it
    never quotes the token)."""

    reason = "invalid"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class MissingTokenError(AuthError):
    """No bearer token was sent (no Authorization header, or another scheme)."""

    reason = "missing"


class MalformedRequestError(AuthError):
    """The credentials cannot be read at all: several Authorization headers."""

    reason = "malformed"


class InvalidTokenError(AuthError):
    """A token was sent and is not acceptable: malformed, badly signed, wrong issuer or
    audience, a refused algorithm, no subject, an unknown key."""


class ExpiredTokenError(InvalidTokenError):
    reason = "expired"


class InsufficientScopeError(AuthError):
    reason = "scope"

    def __init__(self, needed: list[str]) -> None:
        super().__init__(f"The token lacks the scope this operation needs: {' '.join(needed)}.")
        self.needed = needed


class KeySetUnavailableError(AuthError):
    """The token's key is not cached and the identity provider's JWKS cannot be fetched."""

    reason = "unavailable"
