"""Who may do what: every operation declares its scope (a new one is closed until someone
decides otherwise), each is refused without it, and an order is seen only by the principal
that placed it. What the service says about callers: the OpenAPI document, log lines."""

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Route

from {{ cookiecutter.project_slug }}.auth.dependencies import authenticate
from {{ cookiecutter.project_slug }}.auth.principal import SUB_MAX_LENGTH

from .support.helpers import create
from .support.identity_provider import ALL_SCOPES, IdentityProvider
from .support.log_capture import captured

pytestmark = pytest.mark.anyio

# Routes anyone may call: probes, metrics and the API's own description.
PUBLIC = {
    "/health",
    "/health/ready",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
}


# The scope each operation of the shipped resources needs: what the README's Authentication
# table promises, decided here once (a route that declared another scope would still pass the
# checks that read the route's own declaration).
DECIDED = {
    ("GET", "/items"): {"items:read"},
    ("GET", "/items/{item_id}"): {"items:read"},
    ("POST", "/items"): {"items:write"},
    ("POST", "/items/bulk"): {"items:write"},
    ("PATCH", "/items/{item_id}"): {"items:write"},
    ("DELETE", "/items/{item_id}"): {"items:write"},
    ("POST", "/items/adjust-quantity"): {"items:write"},
    ("POST", "/items/{item_id}/transfer"): {"items:write"},
    ("GET", "/orders"): {"orders:read"},
    ("GET", "/orders/{order_id}"): {"orders:read"},
    ("POST", "/orders"): {"orders:write"},
    ("POST", "/orders/{order_id}/cancel"): {"orders:write"},
}


def declared_scopes(dependant: Dependant) -> set[str] | None:
    """The scopes the route's auth gate asks for, or None when it has no gate."""
    for dependency in dependant.dependencies:
        if dependency.call is authenticate:
            return set(dependency.own_oauth_scopes or ())
        found = declared_scopes(dependency)
        if found is not None:
            return found
    return None


def operations(app: FastAPI) -> list[tuple[str, str, set[str]]]:
    """(method, path, the scopes its gate asks for, empty without a gate) of every operation
    of the app, the routes of included routers too."""
    found: list[tuple[str, str, set[str]]] = []
    for context in iter_route_contexts(app.routes):
        # The path as the OpenAPI document has it: "{item_id}", without the ":int" convertor.
        path = context.path_format
        if isinstance(context.original_route, APIRoute) and path:
            scopes = declared_scopes(context.dependant) or set()
            found.extend((method, path, scopes) for method in sorted(context.methods or ()))
    return found


def example_path(path: str) -> str:
    # Every id a number: a segment that is none names no route (kit/types.py: path_id).
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_every_operation_declares_a_scope_or_is_public(app: FastAPI) -> None:
    ungated = [
        f"{method} {path}"
        for method, path, scopes in operations(app)
        if not scopes and path not in PUBLIC
    ]
    gated_public = [path for _, path, scopes in operations(app) if scopes and path in PUBLIC]

    assert len(operations(app)) >= 12
    assert ungated == [], "operations anyone may call: give each a scope, or list it as public"
    assert gated_public == []


async def test_each_shipped_operation_needs_the_scope_decided_for_it(app: FastAPI) -> None:
    declared = {(method, path): scopes for method, path, scopes in operations(app)}

    assert {operation: declared.get(operation) for operation in DECIDED} == DECIDED


async def test_what_is_not_an_api_route_is_public_and_only_read(app: FastAPI) -> None:
    """A Starlette route or a mounted app has no scope gate the checks above could see: only
    the documentation pages may be one, and public routes answer GET (and HEAD) alone."""
    others = [
        getattr(route, "path", repr(route))
        for route in app.routes
        if not isinstance(route, APIRoute)
        and not (isinstance(route, Route) and route.path in PUBLIC)
    ]
    written = [
        f"{method} {path}"
        for method, path, _ in operations(app)
        if path in PUBLIC and method not in {"GET", "HEAD"}
    ]

    assert others == [], "routes outside FastAPI's operations: gate them, or list them as public"
    assert written == []


async def test_every_operation_is_refused_with_every_scope_but_its_own(
    app: FastAPI, client: httpx.AsyncClient, identity_provider: IdentityProvider
) -> None:
    for method, path, scopes in operations(app):
        if not scopes:
            continue
        others = [scope for scope in ALL_SCOPES if scope not in scopes]
        headers = identity_provider.headers(scopes=others)

        response = await client.request(method, example_path(path), headers=headers, json={})

        assert response.status_code == 403, f"{method} {path}: {response.text}"
        needed = " ".join(sorted(scopes))
        assert f'scope="{needed}"' in response.headers["WWW-Authenticate"]


async def test_the_public_routes_need_no_token(client: httpx.AsyncClient) -> None:
    for path in ("/health", "/health/ready", "/metrics", "/openapi.json"):
        response = await client.get(path, headers={"Authorization": ""})
        assert response.status_code == 200, path


async def test_an_order_is_seen_and_cancelled_only_by_its_owner(
    client: httpx.AsyncClient, identity_provider: IdentityProvider
) -> None:
    alice = identity_provider.headers(sub="alice")
    bob = identity_provider.headers(sub="bob")
    bolt = await create(client, "bolt", 10)
    placed = await client.post(
        "/orders", json={"lines": [{"item_id": bolt["id"], "quantity": 2}]}, headers=alice
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]

    # Bob is told it does not exist, the same words as for an order that does not.
    seen = await client.get(f"/orders/{order_id}", headers=bob)
    cancelled = await client.post(f"/orders/{order_id}/cancel", headers=bob)
    listed = await client.get("/orders", headers=bob)

    assert (seen.status_code, seen.json()) == (404, {"detail": f"Order {order_id} not found."})
    assert (cancelled.status_code, cancelled.json()) == (404, seen.json())
    assert listed.json() == {"orders": [], "page": 1, "page_size": 20, "total": 0}
    assert (await client.get(f"/items/{bolt['id']}")).json()["quantity"] == 8

    mine = await client.get("/orders", headers=alice)
    assert [order["id"] for order in mine.json()["orders"]] == [order_id]
    assert (await client.post(f"/orders/{order_id}/cancel", headers=alice)).status_code == 200
    assert (await client.get(f"/items/{bolt['id']}")).json()["quantity"] == 10


async def test_the_longest_subject_a_token_may_carry_owns_its_orders_and_keys(
    client: httpx.AsyncClient, identity_provider: IdentityProvider
) -> None:
    """The tables that record a caller hold every `sub` a token may carry (SUB_MAX_LENGTH; a
    longer one is an invalid token, test_auth_tokens.py): the order and its idempotency key are
    written, and the order is that caller's, not a longer or a shorter one's."""
    longest = "u" * SUB_MAX_LENGTH
    caller = identity_provider.headers(sub=longest)
    bolt = await create(client, "bolt", 10)

    placed = await client.post(
        "/orders",
        json={"lines": [{"item_id": bolt["id"], "quantity": 1}]},
        headers={**caller, "Idempotency-Key": "k" * 40},
    )

    assert placed.status_code == 201, placed.text
    mine = await client.get("/orders", headers=caller)
    assert [order["id"] for order in mine.json()["orders"]] == [placed.json()["id"]]
    for other in (longest[:-1], longest[:-1] + "v"):
        theirs = await client.get("/orders", headers=identity_provider.headers(sub=other))
        assert theirs.json()["total"] == 0, other


async def test_the_openapi_document_declares_the_bearer_scheme_and_each_scope(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    document = (await client.get("/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]

    assert schemes == {
        "BearerToken": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": schemes["BearerToken"]["description"],
        }
    }
    for method, path, scopes in operations(app):
        if path not in document["paths"]:
            continue
        operation = document["paths"][path][method.lower()]
        if scopes:
            assert operation["security"] == [{"BearerToken": sorted(scopes)}], path
            for status in ("401", "403"):
                assert "WWW-Authenticate" in operation["responses"][status]["headers"]
        else:
            assert "security" not in operation, path


async def test_log_lines_name_the_caller_never_the_token(
    client: httpx.AsyncClient, identity_provider: IdentityProvider
) -> None:
    token = identity_provider.token(sub="alice", client_id="shop-frontend")

    async with captured() as logs:
        response = await client.get("/items", headers={"Authorization": f"Bearer {token}"})
        refused = await client.get("/items", headers={"Authorization": f"Bearer {token}x"})

    assert (response.status_code, refused.status_code) == (200, 401)
    lines: list[dict[str, Any]] = [line for line in logs.entries() if "http.route" in line]
    assert lines[0]["user.id"] == "alice"
    assert lines[0]["oauth.client_id"] == "shop-frontend"
    assert "user.id" not in lines[1]
    signature = token.rsplit(".", 1)[1]
    assert all(signature not in line for line in logs.lines)
