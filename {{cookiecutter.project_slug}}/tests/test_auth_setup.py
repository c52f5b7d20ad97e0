"""Setting up access control: which identity-provider settings the service accepts at start, and
the stand-in provider a developer runs to try the API with a real token (README:
Authentication)."""

import os
import subprocess
import sys
from collections.abc import Iterator

import anyio
import pytest
from pydantic import ValidationError

from {{ cookiecutter.project_slug }}.settings import Settings

from .support.project import PROJECT_ROOT
from .support.serving import serve

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "url",
    [
        "https://idp.example.com/.well-known/jwks.json",
        "https://login.example.com:8443/realms/services/protocol/openid-connect/certs",
        "http://127.0.0.1:8900/.well-known/jwks.json",
        "http://localhost:8080/realms/services/protocol/openid-connect/certs",
        "http://[::1]:8900/jwks.json",
    ],
)
def test_a_key_set_over_tls_or_from_this_machine_is_accepted(url: str) -> None:
    assert Settings(auth_jwks_url=url).auth_jwks_url == url


@pytest.mark.parametrize(
    "url",
    [
        # Anyone on the way could hand the service keys of their own, and sign tokens with them.
        "http://idp.example.com/.well-known/jwks.json",
        "http://10.0.0.7:8080/jwks.json",
        # A name that resolves to this machine today is still a name.
        "http://localhost.example.com/jwks.json",
        "ftp://idp.example.com/jwks.json",
        "file:///etc/jwks.json",
        "idp.example.com/.well-known/jwks.json",
        "https:///jwks.json",
        "http://[::1/jwks.json",
    ],
)
def test_a_key_set_that_could_be_replaced_on_the_way_is_refused_at_start(url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(auth_jwks_url=url)

    assert "https://" in str(refused.value)


@pytest.mark.parametrize("algorithms", ["HS256", "RS256,HS512", "none", ""])
def test_an_algorithm_a_public_key_cannot_secure_is_refused_at_start(algorithms: str) -> None:
    """RFC 8725: an HMAC algorithm would let whoever has the provider's public key sign tokens;
    `none` would let anyone."""
    with pytest.raises(ValidationError) as refused:
        Settings(auth_algorithms=algorithms)

    assert "only asymmetric algorithms are accepted" in str(refused.value)


@pytest.fixture
def stand_in_provider() -> Iterator[subprocess.Popen[str]]:
    """`python -m tests.support.identity_provider`, as the README runs it, on a free port, with
    one scope."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.support.identity_provider"),
            *("--port", "0", "--sub", "dev", "--scope", "items:read"),
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_the_stand_in_provider_prints_settings_and_a_token_that_the_service_accepts(
    database_url: str, stand_in_provider: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stand_in_provider.stdout is not None
    with anyio.fail_after(30):
        printed = [
            await anyio.to_thread.run_sync(stand_in_provider.stdout.readline) for _ in range(7)
        ]
    # A comment, the four settings, a comment, the token.
    assert [line.startswith("#") for line in printed] == [True] + [False] * 4 + [True, False]
    environment = dict(line.strip().split("=", 1) for line in printed[1:5])
    token = printed[6].strip()
    assert environment["AUTH_JWKS_URL"] != os.environ["AUTH_JWKS_URL"]  # not the suite's own
    for name, value in environment.items():  # as a .env line would set them
        monkeypatch.setenv(name, value)

    settings = Settings(database_url=database_url)
    bearer = {"Authorization": f"Bearer {token}"}
    async with serve(settings, headers={}) as (_, client):
        read = await client.get("/items", headers=bearer)
        write = await client.post("/items", json={"name": "bolt"}, headers=bearer)
        anonymous = await client.get("/items")

    assert read.status_code == 200, read.text
    # The scope asked for, and no other.
    assert write.status_code == 403, write.text
    assert write.headers["WWW-Authenticate"].endswith('scope="items:write"')
    assert anonymous.status_code == 401
