"""The bench's apps run with the settings their name says: a setting of a paired or costed app
(AUTH_DISABLED=true for `auth-off`) wins over the identity provider's environment, which says
AUTH_DISABLED=false so that a local .env never turns access control off in a measured run."""

from pathlib import Path

from bench.costing import service_app
from bench.identity import Access

from .variants import Variant

PROVIDER = {
    "AUTH_JWKS_URL": "http://127.0.0.1:9/.well-known/jwks.json",
    "AUTH_ISSUER": "https://identity.test/realms/services",
    "AUTH_AUDIENCE": "svc",
    "AUTH_DISABLED": "false",
}


def test_a_costed_apps_own_setting_wins_over_the_providers() -> None:
    variant = Variant("postgres", "async", "flush-commit")
    access = Access(PROVIDER, "token")

    template = service_app("template", Path("/p"), variant, "postgresql://x", access)
    auth_off = service_app(
        "auth-off", Path("/p"), variant, "postgresql://x", access, AUTH_DISABLED="true"
    )

    assert template.env["AUTH_DISABLED"] == "false"
    assert auth_off.env["AUTH_DISABLED"] == "true"
    assert auth_off.env["AUTH_JWKS_URL"] == PROVIDER["AUTH_JWKS_URL"]
    assert auth_off.env["DATABASE_URL"] == "postgresql://x"
