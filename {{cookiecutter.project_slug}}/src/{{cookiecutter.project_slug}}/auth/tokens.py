"""A bearer token, verified: its signature with the provider's key, then its claims."""

import logging

import jwt

from .. import metrics
from .errors import ExpiredTokenError, InvalidTokenError
from .keys import KeySet
from .principal import Principal
from .settings import AuthSettings

logger = logging.getLogger(__name__)

# A JWT access token is a few hundred bytes to a few kilobytes; past this it is not one, and
# it is refused before any parsing.
MAX_TOKEN_LENGTH = 8192
REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]


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

    async def principal(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidTokenError("The token is too long to be an access token.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise InvalidTokenError("The token is not a JWT.") from None
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
        return principal_of(claims)


def principal_of(claims: dict[str, object]) -> Principal:
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub:
        raise InvalidTokenError("The token's 'sub' claim is not a subject.")
    client_id = claims.get("client_id", claims.get("azp"))
    # RFC 9068's `scope`, space-separated; some providers (Entra ID) name it `scp`.
    scope = claims.get("scope", claims.get("scp", ""))
    scopes = scope.split() if isinstance(scope, str) else []
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
