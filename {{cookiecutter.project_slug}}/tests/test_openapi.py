"""The OpenAPI document tells the truth: what its schemas allow, the service accepts, a method a
path lacks is answered as HTTP says, and the answers every request may get are declared. (That
every status an operation answers is declared, with its body and headers, is schemathesis's
status_code_conformance check in test_fuzz.py, on the requests it sends.)"""

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

pytestmark = pytest.mark.anyio

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def declared_paths(app: FastAPI) -> dict[str, set[str]]:
    """Each path of the document, with a number in place of each parameter, and its methods."""
    return {
        re.sub(r"\{[^}]+\}", "1", path): {method.upper() for method in operations}
        for path, operations in app.openapi()["paths"].items()
    }


async def test_a_method_the_path_lacks_is_a_405_that_allows_every_method_it_has(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """RFC 9110: a 405's `Allow` lists the methods the target has; all of them, although
    FastAPI declares one route per method (GET /items and POST /items are two)."""
    answers = {}
    for path, methods in declared_paths(app).items():
        for method in sorted(set(METHODS) - methods):
            response = await client.request(method, path)
            allowed = {name.strip() for name in response.headers.get("allow", "").split(",")}
            answers[method, path] = (response.status_code, allowed - {"HEAD"})
    expected = {
        (method, path): (405, methods)
        for path, methods in declared_paths(app).items()
        for method in sorted(set(METHODS) - methods)
    }
    # /items/bulk is not item "bulk" of /items/{item_id}, whose PATCH would answer 422.
    assert ("PATCH", "/items/bulk") in expected
    assert answers == expected


def operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        if operation.get("security")
    ]


async def test_every_secured_operation_declares_the_answers_every_request_may_get(
    app: FastAPI,
) -> None:
    """What any request of a secured operation may be answered, whatever the operation does:
    refused credentials with their challenge, an unavailable database with Retry-After, and,
    with an id in its path, 404 for a segment that is no number or names no row."""
    missing = []
    for method, path, operation in operations(app):
        responses = operation["responses"]
        expected = {"400", "401", "403", "503"} | ({"404"} if "{" in path else set())
        missing += [f"{method} {path}: {code}" for code in sorted(expected - set(responses))]
        for code in ("401", "403"):
            if "WWW-Authenticate" not in responses.get(code, {}).get("headers", {}):
                missing.append(f"{method} {path}: {code} without WWW-Authenticate")
        if "Retry-After" not in responses.get("503", {}).get("headers", {}):
            missing.append(f"{method} {path}: 503 without Retry-After")

    assert len(operations(app)) >= 12
    assert missing == []


def item_name_schema(app: FastAPI) -> dict[str, Any]:
    schemas = app.openapi()["components"]["schemas"]
    name: dict[str, Any] = schemas["ItemCreate"]["properties"]["name"]
    return name


@pytest.mark.parametrize(
    "name", ["bolt", " bolt ", " ", "\t \u3000", "\u00a0", "", "a\x00b", "x" * 100, "x" * 101]
)
async def test_a_name_is_accepted_when_its_schema_allows_it(
    app: FastAPI, client: httpx.AsyncClient, name: str
) -> None:
    schema = item_name_schema(app)
    allowed = (
        schema["minLength"] <= len(name) <= schema["maxLength"]
        and re.fullmatch(schema["pattern"], name) is not None
    )

    response = await client.post("/items", json={"name": name})

    assert (response.status_code == 201) == allowed, (schema, response.text)


async def test_an_update_schema_offers_no_null(app: FastAPI) -> None:
    """PATCH may leave a field out, not send null (test_items.py: it is refused)."""
    update = app.openapi()["components"]["schemas"]["ItemUpdate"]

    assert update.get("required", []) == []
    for field in ("name", "quantity"):
        schema = update["properties"][field]
        assert "anyOf" not in schema, schema
        assert schema["type"] != "null", schema
        assert "default" not in schema, schema
