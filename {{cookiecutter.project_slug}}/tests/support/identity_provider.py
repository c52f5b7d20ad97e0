"""A stand-in for the team's identity provider: keys of its own, a JWKS served over real HTTP on
a free local port, and access tokens (RFC 9068) signed with those keys.

The service under test fetches the JWKS from it as it would from Keycloak or Auth0. Tests can
rotate keys, take the key set down, make it answer garbage or answer slowly, and count how often
it was asked.

Run as `python -m tests.support.identity_provider`, it is a developer's provider for trying the
API locally (README: Authentication): it prints the settings that trust it and a token, and
serves its JWKS until interrupted.
"""

import argparse
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from {{ cookiecutter.project_slug }}.auth.principal import SCOPES

from .ports import serving_http

ISSUER = "https://identity.test/realms/services"
AUDIENCE = "{{ cookiecutter.project_slug }}"
# Every scope an operation of the service asks for: a new resource's scopes join by themselves.
ALL_SCOPES = tuple(SCOPES)

Mode = Literal["serve", "down", "garbage", "not-http", "nested", "slow"]


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private: PrivateKeyTypes

    def public_jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            assert isinstance(public, ec.EllipticCurvePublicKey)
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}


def new_key(algorithm: str = "RS256") -> SigningKey:
    private: PrivateKeyTypes
    if algorithm == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        private = ec.generate_private_key(ec.SECP256R1())
    return SigningKey(kid=uuid.uuid4().hex[:12], algorithm=algorithm, private=private)


@dataclass
class IdentityProvider:
    url: str = ""
    keys: list[SigningKey] = field(default_factory=list)
    mode: Mode = "serve"
    # Seconds a "slow" JWKS takes to answer.
    delay: float = 30.0
    fetches: int = 0

    @property
    def rsa(self) -> SigningKey:
        return next(key for key in self.keys if key.algorithm == "RS256")

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in self.keys]}

    def token(
        self,
        *,
        sub: str | None = "tester",
        scopes: tuple[str, ...] | list[str] = ALL_SCOPES,
        key: SigningKey | None = None,
        lifetime: float = 3600,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A valid access token unless the arguments say otherwise; a claim given as None is
        left out."""
        key = key or self.rsa
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub,
            "client_id": "test-client",
            "scope": " ".join(scopes),
            "iat": now,
            "exp": now + int(lifetime),
            "jti": uuid.uuid4().hex,
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(
            payload,
            key.private,  # type: ignore[arg-type]
            algorithm=key.algorithm,
            headers={"kid": key.kid, "typ": "at+jwt", **(headers or {})},
        )

    def headers(self, **token_arguments: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(**token_arguments)}"}

    @contextmanager
    def serving_as(self, mode: Mode) -> Iterator[None]:
        previous, self.mode = self.mode, mode
        try:
            yield
        finally:
            self.mode = previous


def handler_for(provider: IdentityProvider) -> type[BaseHTTPRequestHandler]:
    class JwksHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            provider.fetches += 1
            if provider.mode == "down":
                self.send_error(503)
                return
            if provider.mode == "not-http":
                # Something else listens there: no status line at all.
                with contextlib.suppress(OSError):
                    self.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n")
                return
            if provider.mode == "slow":
                time.sleep(provider.delay)
            if provider.mode == "garbage":
                body = b"<html>not a key set"
            elif provider.mode == "nested":
                # Valid JSON's grammar, nested deeper than any parser recurses.
                body = b"[" * 100_000 + b"]" * 100_000
            else:
                body = json.dumps(provider.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            # The service may have given up waiting for a "slow" answer.
            with contextlib.suppress(OSError):
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return JwksHandler


@contextmanager
def running_identity_provider(port: int = 0) -> Iterator[IdentityProvider]:
    """The provider, with one RSA and one EC key, serving its JWKS on `port` of 127.0.0.1 (0: a
    free one)."""
    provider = IdentityProvider(keys=[new_key("RS256"), new_key("ES256")])
    with serving_http(handler_for(provider), port) as bound:
        provider.url = f"http://127.0.0.1:{bound}/.well-known/jwks.json"
        yield provider


# The provider of the test session (conftest.py starts it): the clients of the harness send a
# token of its, with every scope, unless a test says otherwise.
_current: list[IdentityProvider] = []


def set_current(provider: IdentityProvider | None) -> None:
    _current[:] = [provider] if provider else []


def current_provider() -> IdentityProvider:
    """The identity provider of the test run (conftest.py's identity_provider)."""
    assert _current, "no identity provider is running (conftest.py's identity_provider)"
    return _current[0]


def access_headers() -> dict[str, str]:
    """An Authorization header with a valid token of every scope, for a client of the harness."""
    assert _current, "no identity provider is running (conftest.py's identity_provider)"
    return _current[0].headers()


def auth_environment(provider: IdentityProvider) -> dict[str, str]:
    """The service's settings that trust this provider."""
    return {
        "AUTH_JWKS_URL": provider.url,
        "AUTH_ISSUER": ISSUER,
        "AUTH_AUDIENCE": AUDIENCE,
        # The quick start's local .env disables access control; the environment wins over it,
        # so the suite tests the service as deployed wherever it runs.
        "AUTH_DISABLED": "false",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.identity_provider",
        description="A local stand-in identity provider: prints the settings that trust it and "
        "an access token, then serves its JWKS until interrupted. Its keys are new at each "
        "start, so are the tokens it signs.",
    )
    parser.add_argument("--port", type=int, default=8900, help="JWKS port on 127.0.0.1 (0: any)")
    parser.add_argument("--sub", default="developer", help="the token's subject")
    parser.add_argument(
        "--scope",
        action="append",
        choices=ALL_SCOPES,
        help="a scope of the token, repeatable (default: every scope)",
    )
    parser.add_argument("--lifetime", type=int, default=3600, help="seconds the token is valid")
    arguments = parser.parse_args(argv)

    scopes = tuple(arguments.scope or ALL_SCOPES)
    with running_identity_provider(arguments.port) as provider:
        token = provider.token(sub=arguments.sub, scopes=scopes, lifetime=arguments.lifetime)
        print("# The settings that trust this provider (in .env, instead of AUTH_DISABLED=true):")
        for name, value in auth_environment(provider).items():
            print(f"{name}={value}")
        valid = f"valid {arguments.lifetime} s"
        print(f"# A token for {arguments.sub!r}, {' '.join(scopes)}, {valid}:")
        print(token, flush=True)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: stop serving
            threading.Event().wait()


if __name__ == "__main__":
    main()
