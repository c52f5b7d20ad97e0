"""The identity provider the service trusts, and how it verifies its tokens."""

import ipaddress
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode

# Asymmetric algorithms only (RFC 8725): a token is verified with the provider's public key,
# so an HMAC algorithm would let anyone who has that public key sign tokens, and `none` would
# let anyone at all.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class AuthSettings(BaseSettings):
    # The provider's JSON Web Key Set, e.g. https://idp.example.com/.well-known/jwks.json;
    # https:// (http:// only for a provider on this machine, see `fetched_safely`).
    auth_jwks_url: str | None = None
    # The `iss` every token must carry, and the `aud` it must contain (this service's id).
    auth_issuer: str | None = None
    auth_audience: str | None = None
    # The signature algorithms accepted, comma-separated.
    auth_algorithms: Annotated[list[str], NoDecode] = ["RS256", "ES256"]
    # Seconds of clock difference forgiven on `exp` and `nbf`.
    auth_leeway: float = Field(default=30.0, ge=0, le=300)
    # Seconds the JWKS is kept before it is fetched again (a fetch that fails keeps the old keys).
    auth_jwks_cache_seconds: float = Field(default=300.0, gt=0)
    # A token whose key is not in the cached JWKS causes at most one fetch per this many seconds
    # (the provider may have rotated its keys); a flood of bad tokens causes no more.
    auth_jwks_refresh_interval: float = Field(default=10.0, ge=0)
    # Seconds a JWKS fetch may take before requests that need it are answered 503.
    auth_jwks_timeout: float = Field(default=3.0, gt=0)
    # Only for trying the service locally: every request runs as one local principal with every
    # scope. Logged as a warning at start-up and exported as the auth_disabled metric.
    auth_disabled: bool = False

    @field_validator("auth_algorithms", mode="before")
    @classmethod
    def split_algorithms(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @field_validator("auth_algorithms")
    @classmethod
    def only_asymmetric(cls, value: list[str]) -> list[str]:
        refused = sorted(set(value) - ASYMMETRIC_ALGORITHMS)
        if refused or not value:
            accepted = ", ".join(sorted(ASYMMETRIC_ALGORITHMS))
            raise ValueError(
                f"only asymmetric algorithms are accepted ({accepted}); "
                f"refused: {', '.join(refused) or 'an empty list'}"
            )
        return value

    @field_validator("auth_jwks_url")
    @classmethod
    def fetched_safely(cls, value: str | None) -> str | None:
        """Whoever can change the key set on its way can sign tokens the service accepts: it is
        fetched over TLS, or over the loopback interface (a provider run locally, the tests'
        stand-in), where nobody stands in between."""
        if not value:
            return value  # unset: auth_problem() names it
        try:
            url = urlsplit(value)
            host = url.hostname
        except ValueError:
            host = None
        else:
            if url.scheme == "https" and host:
                return value
            if url.scheme == "http" and host and on_this_machine(host):
                return value
        raise ValueError(
            "the JWKS must be fetched over https:// (http:// only from localhost, 127.0.0.1 or "
            "::1): keys that can be replaced on the way let anyone sign tokens"
        )

    def auth_problem(self) -> str | None:
        """None when tokens can be verified (or auth is disabled on purpose); otherwise one line
        that names what is missing."""
        if self.auth_disabled:
            return None
        missing = [
            name.upper()
            for name in ("auth_jwks_url", "auth_issuer", "auth_audience")
            if not getattr(self, name)
        ]
        if not missing:
            return None
        return (
            f"Access control is not configured: set {', '.join(missing)} (the identity "
            "provider's JWKS URL, the tokens' issuer and this service's audience), or "
            "AUTH_DISABLED=true to run without it, locally only."
        )


def on_this_machine(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: where it resolves to is not this setting's to trust
        return False
