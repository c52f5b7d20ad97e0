"""A bearer token, verified: its signature with the provider's key, then its claims."""

import base64
import binascii
import json
import logging
import time
from collections import OrderedDict
from typing import Any

import jwt

from .. import metrics
from .errors import ExpiredTokenError, InvalidTokenError
from .keys import KeySet
from .principal import SUB_MAX_LENGTH, Principal
from .settings import AuthSettings

logger = logging.getLogger(__name__)

# A JWT access token is a few hundred bytes to a few kilobytes; past this it is not one, and
# it is refused before any parsing.
MAX_TOKEN_LENGTH = 8192
REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]
# Tokens verified lately, by their text. A client sends one token for its whole lifetime;
# verifying it again on every request would repeat about 100 µs of work (PyJWT checks the token
# byte by byte, then the signature). An entry lasts until the token expires, no longer than the
# key set is cached, and only while the keys it was verified with are the ones held: once the
# key set is fetched again (due, or for a token naming a new key), every token is verified
# again, so a key the provider removed stops being honoured at that fetch. Bounded: the least
# recently used entry goes first.
VERIFIED_TOKENS = 4096


def unverified_header(token: str) -> dict[str, Any]:
    """The header of a compact JWS, read from its first segment alone (the signature and the
    claims are checked by jwt.decode, once the key is known)."""
    if token.count(".") != 2:
        raise InvalidTokenError("The token is not a JWT.")
    segment = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidTokenError("The token is not a JWT.") from None
    if not isinstance(header, dict):
        raise InvalidTokenError("The token is not a JWT.")
    return header


class TokenVerifier:
    def __init__(
        self,
        keys: KeySet,
        *,
        issuer: str,
        audience: str,
        algorithms: list[str],
        leeway: float,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.algorithms = algorithms
        self.leeway = leeway
        # token -> (time.time() until which it stands verified, the key set's generation it
        # was verified with, its principal)
        self.verified: OrderedDict[str, tuple[float, int, Principal]] = OrderedDict()

    async def principal(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidTokenError("The token is too long to be an access token.")
        now = time.time()
        known = self.verified.get(token)
        if known is not None:
            until, generation, principal = known
            if now < until and generation == self.keys.generation:
                self.verified.move_to_end(token)
                return principal
            del self.verified[token]
        principal, expires = await self.verify(token)
        until = min(expires, now + self.keys.cache_seconds)
        self.verified[token] = (until, self.keys.generation, principal)
        if len(self.verified) > VERIFIED_TOKENS:
            self.verified.popitem(last=False)
        return principal

    async def verify(self, token: str) -> tuple[Principal, float]:
        """The token's principal and its expiry (`exp`), or the reason it is refused."""
        header = unverified_header(token)
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            # `none`, an HMAC algorithm, or one the service does not accept: refused before any
            # key is looked up, so such a token costs no JWKS fetch either.
            raise InvalidTokenError("The token's signature algorithm is not accepted.")
        kid = header.get("kid")
        key = await self.keys.key(kid if isinstance(kid, str) else None)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise ExpiredTokenError("The token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise InvalidTokenError("The token is not valid yet.") from None
        except jwt.InvalidAudienceError:
            raise InvalidTokenError("The token is not meant for this service.") from None
        except jwt.InvalidIssuerError:
            raise InvalidTokenError("The token was issued by another identity provider.") from None
        except jwt.MissingRequiredClaimError as error:
            raise InvalidTokenError(f"The token has no {error.claim!r} claim.") from None
        except jwt.PyJWTError:
            raise InvalidTokenError("The token's signature or claims are invalid.") from None
        expires = claims["exp"]
        if not isinstance(expires, int | float):  # PyJWT checked it is a number
            raise InvalidTokenError("The token's 'exp' claim is not a time.")
        return principal_of(claims), float(expires)


def principal_of(claims: dict[str, object]) -> Principal:
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub:
        raise InvalidTokenError("The token's 'sub' claim is not a subject.")
    if len(sub) > SUB_MAX_LENGTH:
        raise InvalidTokenError(
            f"The token's 'sub' claim is longer than {SUB_MAX_LENGTH} characters."
        )
    client_id = claims.get("client_id", claims.get("azp"))
    # RFC 9068's `scope`, space-separated; some providers name it `scp`, a string (Entra ID) or
    # a list of strings (Okta).
    scope = claims.get("scope", claims.get("scp", ""))
    if isinstance(scope, str):
        scopes = scope.split()
    elif isinstance(scope, list):
        scopes = [name for name in scope if isinstance(name, str)]
    else:
        scopes = []
    return Principal(
        sub=sub,
        client_id=client_id if isinstance(client_id, str) else None,
        scopes=frozenset(scopes),
    )


class AuthNotConfiguredError(RuntimeError):
    """The service would serve requests without knowing whom to trust."""


def create_token_verifier(settings: AuthSettings, *, metrics_enabled: bool) -> TokenVerifier | None:
    """The verifier of the identity provider's tokens; None with AUTH_DISABLED=true. Refuses to
    start without an identity provider: an open service is never a default."""
    problem = settings.auth_problem()
    if problem is not None:
        raise AuthNotConfiguredError(problem)
    if settings.auth_disabled:
        logger.warning(
            "AUTH_DISABLED=true: every request runs as the local principal with every scope; "
            "never deploy it"
        )
        if metrics_enabled:
            metrics.AUTH_DISABLED.set(1)
        return None
    url, issuer, audience = settings.auth_jwks_url, settings.auth_issuer, settings.auth_audience
    if url is None or issuer is None or audience is None:  # auth_problem() said they are set
        raise AuthNotConfiguredError("AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE must be set.")
    keys = KeySet(
        url,
        algorithms=settings.auth_algorithms,
        timeout=settings.auth_jwks_timeout,
        cache_seconds=settings.auth_jwks_cache_seconds,
        refresh_interval=settings.auth_jwks_refresh_interval,
    )
    return TokenVerifier(
        keys,
        issuer=issuer,
        audience=audience,
        algorithms=settings.auth_algorithms,
        leeway=settings.auth_leeway,
    )
