"""The identity provider the services under load trust, and the token every request carries.

The generated service is an OAuth 2.0 resource server: every operation but the health, metrics
and OpenAPI routes needs `Authorization: Bearer <JWT>`, verified against the provider's JWKS.
The bench runs it as a deployment would: the baked service's own stand-in provider
(tests/support/identity_provider.py: RSA and EC keys, a JWKS over HTTP on a free 127.0.0.1
port) runs for the whole run, every service app gets its AUTH_* settings, and every request the
bench sends (wrk's, the in-process driver's, the warm-ups, the seeding) carries one token of
it, valid for a day, with every scope. The raw reference and the floor have no access control
and get neither.
"""

import contextlib
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.variants import clean_environment

TOKEN_LIFETIME = 24 * 3600  # seconds: longer than any run
SUBJECT = "bench"  # the token's `sub`: the owner of every order the bench places

# Started by the baked service's own test helper (it imports the service's scopes), in the
# service's venv, as bench/serving.py starts PgBouncer; it prints the settings and the token,
# then serves the JWKS until its standard input closes.
PROVIDER = """\
import json, sys
from tests.support.identity_provider import auth_environment, running_identity_provider
with running_identity_provider() as provider:
    token = provider.token(sub=sys.argv[2], lifetime=float(sys.argv[1]))
    print(json.dumps({"environment": auth_environment(provider), "token": token}), flush=True)
    sys.stdin.read()
"""


@dataclass(frozen=True)
class Access:
    """What a service app needs to be called as deployed: its AUTH_* settings, and the token."""

    environment: dict[str, str]
    token: str


@contextlib.contextmanager
def in_service(project: Path, script: str, *arguments: str) -> Iterator[str]:
    """`script` run by the baked `project`'s own Python, in the project (it imports the
    service's test helpers); yields the first line it prints, and stops it (closing its stdin)
    when the block ends. The bench runs the identity provider and PgBouncer this way."""
    process = subprocess.Popen(
        [str(project / ".venv/bin/python"), "-c", script, *arguments],
        cwd=project,
        env=clean_environment(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        yield process.stdout.readline().strip()
    finally:
        process.stdin.close()
        process.wait(30)


@contextlib.contextmanager
def identity_provider(project: Path) -> Iterator[Access]:
    """The baked `project`'s stand-in identity provider, running; its settings and a token."""
    with in_service(project, PROVIDER, str(TOKEN_LIFETIME), SUBJECT) as line:
        if not line.startswith("{"):
            raise RuntimeError("the identity provider did not start")
        started = json.loads(line)
        yield Access(started["environment"], started["token"])
