"""Bearer tokens, verified against the identity provider's real JWKS: every way a token can be
wrong is refused with the challenge RFC 6750 names, before any session is taken; keys rotate
without a restart; a provider that is down or slow is a 503, never an accepted token."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI

from {{ cookiecutter.project_slug }}.auth.principal import SUB_MAX_LENGTH
from {{ cookiecutter.project_slug }}.settings import Settings

from .support.identity_provider import AUDIENCE, ISSUER, IdentityProvider, new_key
from .support.metric_samples import sample
from .support.serving import serve

pytestmark = pytest.mark.anyio


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A token put together by hand, as an attacker would."""
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(claims).encode())
    return f"{head}.{body}.{b64(signature)}"


def valid_claims() -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "mallory",
        "exp": now + 300,
        "scope": "items:read",
    }


def hs256_with_public_key(provider: IdentityProvider) -> str:
    """The algorithm-confusion attack: HMAC-signed with the provider's public key as secret."""
    public = provider.rsa.private.public_key()
    secret = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": provider.rsa.kid}
    signing_input = unsigned(header, valid_claims()).rsplit(".", 1)[0]
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def forged(provider: IdentityProvider) -> str:
    """Signed with a key of the attacker's own, under the provider's key id."""
    impostor = new_key("RS256")
    impostor.kid = provider.rsa.kid
    return provider.token(key=impostor)


def bad_tokens(provider: IdentityProvider) -> dict[str, str]:
    now = int(time.time())
    return {
        "not-a-jwt": "not-a-jwt",
        "bad-signature": forged(provider),
        "alg-none": unsigned({"alg": "none", "typ": "JWT"}, valid_claims()),
        "hs256-with-public-key": hs256_with_public_key(provider),
        "wrong-issuer": provider.token(iss="https://evil.test/"),
        "wrong-audience": provider.token(aud="another-service"),
        "expired": provider.token(exp=now - 3600),
        "not-yet-valid": provider.token(nbf=now + 3600),
        "no-sub": provider.token(sub=None),
        # Longer than OpenID Connect allows and than the tables that record a caller hold.
        "sub-too-long": provider.token(sub="u" * (SUB_MAX_LENGTH + 1)),
        "unknown-kid": provider.token(headers={"kid": "no-such-key"}),
        # A JWT's shape, 100 kB long.
        "too-long": provider.token(padding="x" * 100_000),
    }


# What the service itself says of a token its own checks refuse: the allow-list of algorithms
# and the length bound, before PyJWT sees the token (PyJWT would refuse some of them too, later
# and slower), and the bound on `sub` after it (PyJWT would accept it).
OWN_REFUSALS = {
    "alg-none": "signature algorithm is not accepted",
    "hs256-with-public-key": "signature algorithm is not accepted",
    "too-long": "too long to be an access token",
    "sub-too-long": f"longer than {SUB_MAX_LENGTH} characters",
}


@pytest.fixture
async def counted(served: tuple[FastAPI, httpx.AsyncClient]) -> AsyncIterator[list[int]]:
    """How many sessions the app opened during the test."""
    app, _ = served
    opened = [0]
    factory = app.state.session_factory

    def counting(*args: Any, **kwargs: Any) -> Any:
        opened[0] += 1
        return factory(*args, **kwargs)

    app.state.session_factory = counting
    yield opened
    app.state.session_factory = factory


async def test_a_valid_token_is_accepted(
    client: httpx.AsyncClient, identity_provider: IdentityProvider
) -> None:
    for key in identity_provider.keys:  # RS256 and ES256
        response = await client.get("/items", headers=identity_provider.headers(key=key))
        assert response.status_code == 200, response.text


async def test_the_scheme_is_read_in_any_case_and_the_token_as_sent(
    client: httpx.AsyncClient, identity_provider: IdentityProvider
) -> None:
    """RFC 7235: the scheme's name is case-insensitive; the space after it may be more than one."""
    token = identity_provider.token()
    for value in (f"bearer {token}", f"BEARER {token}", f"Bearer  {token} "):
        response = await client.get("/items", headers={"Authorization": value})
        assert response.status_code == 200, (value[:10], response.text)


async def test_no_token_is_401_with_a_bare_challenge_and_opens_no_session(
    client: httpx.AsyncClient, counted: list[int]
) -> None:
    for value in ("", "Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc.def.ghi"):
        headers = {"Authorization": value}
        response = await client.post("/items", json={"name": "bolt"}, headers=headers)

        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json() == {"detail": "This operation needs a bearer token."}
    assert counted == [0]


@pytest.mark.parametrize(
    "case",
    [
        "not-a-jwt",
        "bad-signature",
        "alg-none",
        "hs256-with-public-key",
        "wrong-issuer",
        "wrong-audience",
        "expired",
        "not-yet-valid",
        "no-sub",
        "sub-too-long",
        "unknown-kid",
        "too-long",
    ],
)
async def test_a_bad_token_is_401_invalid_token_changes_nothing_and_is_not_echoed(
    client: httpx.AsyncClient,
    identity_provider: IdentityProvider,
    counted: list[int],
    case: str,
) -> None:
    token = bad_tokens(identity_provider)[case]
    reason = "expired" if case == "expired" else "invalid"
    before = sample("auth_rejected_requests_total", reason=reason)

    response = await client.post(
        "/items", json={"name": "bolt"}, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 401, response.text
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer error="invalid_token", error_description="')
    assert token not in response.text
    assert token not in challenge
    if case in OWN_REFUSALS:  # by the service's own check, not by PyJWT's
        assert OWN_REFUSALS[case] in challenge
    assert counted == [0]
    assert sample("auth_rejected_requests_total", reason=reason) == before + 1
    assert (await client.get("/items")).json()["total"] == 0


async def test_scopes_given_as_scp_a_string_or_a_list_are_read(
    client: httpx.AsyncClient, identity_provider: IdentityProvider
) -> None:
    """Entra ID names them `scp`, a string; Okta `scp`, a list of strings."""
    for scp in ("items:read items:write", ["items:read", "items:write"]):
        token = identity_provider.token(scope=None, scp=scp)
        response = await client.get("/items", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, (scp, response.text)


async def test_a_local_env_file_that_disables_access_control_does_not_reach_the_suite(
    tmp_path: Path,
) -> None:
    """The quick start writes AUTH_DISABLED=true to .env; the suite's environment overrides
    it, so the tests still check the service as deployed."""
    env_file = tmp_path / ".env"
    env_file.write_text("AUTH_DISABLED=true\n", encoding="utf-8")

    assert Settings(_env_file=env_file).auth_disabled is False


async def test_several_authorization_headers_are_400_invalid_request(
    client: httpx.AsyncClient, identity_provider: IdentityProvider
) -> None:
    token = identity_provider.token()
    headers = [("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")]

    response = await client.post("/items", json={"name": "bolt"}, headers=headers)

    assert response.status_code == 400
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_request"')
    assert (await client.get("/items")).json()["total"] == 0


async def test_a_token_without_the_scope_is_403_naming_it_and_changes_nothing(
    client: httpx.AsyncClient, identity_provider: IdentityProvider
) -> None:
    reader = identity_provider.headers(scopes=["items:read"])

    response = await client.post("/items", json={"name": "bolt"}, headers=reader)

    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", error_description="The token lacks the scope this '
        'operation needs: items:write.", scope="items:write"'
    )
    assert (await client.get("/items", headers=reader)).json()["total"] == 0


async def test_a_flood_of_unknown_key_ids_fetches_the_key_set_at_most_once(
    client: httpx.AsyncClient, identity_provider: IdentityProvider
) -> None:
    await client.get("/items")  # the keys are cached
    before = identity_provider.fetches

    for _ in range(30):
        token = identity_provider.token(headers={"kid": uuid.uuid4().hex})
        response = await client.get("/items", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401

    assert identity_provider.fetches - before <= 1


async def test_a_new_key_is_used_without_a_restart_and_a_removed_one_is_refused(
    database_url: str, identity_provider: IdentityProvider
) -> None:
    settings = Settings(
        database_url=database_url, auth_jwks_refresh_interval=0, auth_jwks_cache_seconds=0.2
    )
    async with serve(settings) as (_, client):
        assert (await client.get("/items")).status_code == 200
        rotated = new_key("ES256")
        identity_provider.keys.append(rotated)
        try:
            fresh = identity_provider.headers(key=rotated)
            assert (await client.get("/items", headers=fresh)).status_code == 200

            old = identity_provider.rsa
            old_token = identity_provider.headers(key=old)
            identity_provider.keys.remove(old)
            try:
                await anyio.sleep(0.3)  # past the cache's lifetime: the next request fetches
                assert (await client.get("/items", headers=old_token)).status_code == 401
                assert (await client.get("/items", headers=fresh)).status_code == 200
            finally:
                identity_provider.keys.insert(0, old)
        finally:
            identity_provider.keys.remove(rotated)


async def test_a_token_verified_before_its_key_was_removed_is_refused_after_the_next_fetch(
    database_url: str, identity_provider: IdentityProvider
) -> None:
    """Verified tokens are remembered, but not past the keys they were verified with: the
    provider removes a key (it leaked), and the next fetch of the key set, here caused by a
    token naming the new key, ends every token signed with it, however long its cache entry
    would still last."""
    settings = Settings(
        database_url=database_url, auth_jwks_refresh_interval=0, auth_jwks_cache_seconds=600
    )
    async with serve(settings) as (_, client):
        old = identity_provider.rsa
        old_token = identity_provider.headers(key=old)
        assert (await client.get("/items", headers=old_token)).status_code == 200  # remembered

        rotated = new_key("ES256")
        identity_provider.keys.append(rotated)
        identity_provider.keys.remove(old)
        try:
            fresh = identity_provider.headers(key=rotated)
            assert (await client.get("/items", headers=fresh)).status_code == 200  # a fetch
            refused = await client.get("/items", headers=old_token)
        finally:
            identity_provider.keys.remove(rotated)
            identity_provider.keys.insert(0, old)

    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


@pytest.mark.parametrize("mode", ["down", "garbage", "not-http", "nested", "slow"])
async def test_an_unreachable_key_set_is_503_within_the_timeout_never_a_pass(
    database_url: str, identity_provider: IdentityProvider, mode: str
) -> None:
    # No refresh interval: the request after the provider is back fetches at once.
    settings = Settings(
        database_url=database_url, auth_jwks_timeout=0.5, auth_jwks_refresh_interval=0
    )
    identity_provider.delay = 5
    async with serve(settings) as (_, client):
        with identity_provider.serving_as(mode):  # type: ignore[arg-type]
            started = time.monotonic()
            response = await client.post("/items", json={"name": "bolt"})
            elapsed = time.monotonic() - started

        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"]
        assert elapsed < 2
        assert (await client.get("/items")).json()["total"] == 0  # the provider is back


async def test_a_cached_key_keeps_working_while_the_key_set_is_down(
    client: httpx.AsyncClient, identity_provider: IdentityProvider
) -> None:
    assert (await client.get("/items")).status_code == 200

    with identity_provider.serving_as("down"):
        response = await client.get("/items")

    assert response.status_code == 200


async def test_without_an_identity_provider_the_service_refuses_to_start(
    database_url: str,
) -> None:
    settings = Settings(
        database_url=database_url, auth_jwks_url=None, auth_issuer=None, auth_audience=None
    )

    with pytest.raises(RuntimeError) as refused:
        async with serve(settings):
            pass

    message = str(refused.value)
    assert "\n" not in message
    for name in ("AUTH_JWKS_URL", "AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_DISABLED=true"):
        assert name in message


async def test_auth_disabled_runs_as_the_local_principal_and_says_so(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        database_url=database_url, auth_disabled=True, auth_jwks_url=None, auth_issuer=None
    )

    async with serve(settings, headers={}) as (_, client):
        created = await client.post("/items", json={"name": "bolt", "quantity": 5})
        order = await client.post(
            "/orders", json={"lines": [{"item_id": created.json()["id"], "quantity": 1}]}
        )
        listed = await client.get("/orders")
        disabled = sample("auth_disabled")

    assert disabled == 1
    assert sample("auth_disabled") == 0  # back to 0 when the app stops
    assert created.status_code == 201
    assert order.status_code == 201
    assert [mine["id"] for mine in listed.json()["orders"]] == [order.json()["id"]]
    assert any("AUTH_DISABLED=true" in record.getMessage() for record in caplog.records)


async def test_a_slow_key_set_refresh_delays_one_request_not_all(
    database_url: str, identity_provider: IdentityProvider
) -> None:
    """The keys are due for a fetch and the provider hangs: the request that fetches waits (up
    to the timeout), the others are served with the cached keys meanwhile."""
    settings = Settings(
        database_url=database_url,
        auth_jwks_cache_seconds=0.1,
        auth_jwks_timeout=1,
        auth_jwks_refresh_interval=0,
    )
    answers: list[tuple[float, int]] = []

    async def timed(client: httpx.AsyncClient) -> None:
        started = time.monotonic()
        # A token of its own: no request is answered from the verified-token cache.
        response = await client.get("/items", headers=identity_provider.headers())
        answers.append((time.monotonic() - started, response.status_code))

    async with serve(settings) as (_, client):
        assert (await client.get("/items")).status_code == 200  # the keys are cached
        await anyio.sleep(0.2)  # and now due for a fetch
        identity_provider.delay = 5
        with identity_provider.serving_as("slow"):
            async with anyio.create_task_group() as requests:
                requests.start_soon(timed, client)
                await anyio.sleep(0.1)  # the first one is fetching
                for _ in range(5):
                    requests.start_soon(timed, client)

    assert [status for _, status in answers] == [200] * 6
    assert len([seconds for seconds, _ in answers if seconds > 0.8]) == 1, answers
