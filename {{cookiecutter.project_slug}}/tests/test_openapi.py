"""The OpenAPI document tells the truth: what its schemas allow, the service accepts, and a method
a path lacks is answered as HTTP says. (That every status an operation answers is declared, with
its body and headers, is schemathesis's status_code_conformance check in test_fuzz.py.)"""

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
