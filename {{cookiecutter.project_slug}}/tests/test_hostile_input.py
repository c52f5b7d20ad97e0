"""Hostile input: malformed, oversized, out-of-range or strange requests get a 4xx with a JSON
error, and text the database can store comes back as sent."""

from typing import Any

import httpx
import pytest

from .support.helpers import create

pytestmark = pytest.mark.anyio


HOSTILE_REQUESTS = [
    pytest.param("POST", "/items", {"content": b'{"name": "bolt",'}, id="malformed-json"),
    pytest.param("POST", "/items", {"content": b"\xff\xfe"}, id="not-utf8"),
    pytest.param("POST", "/items", {"json": {"name": 7, "quantity": "many"}}, id="wrong-types"),
    pytest.param("POST", "/items", {"json": ["bolt"]}, id="list-instead-of-object"),
    pytest.param("POST", "/items", {"json": {"name": "q", "quantity": 2**63}}, id="quantity-2**63"),
    pytest.param(
        "POST", "/items", {"json": {"name": "q", "quantity": -(2**63) - 1}}, id="quantity--2**63-1"
    ),
    pytest.param("POST", "/items", {"json": {"name": "n" * 101}}, id="name-too-long"),
    pytest.param("POST", "/items", {"json": {"name": "q", "quantity": True}}, id="boolean"),
    pytest.param("POST", "/items", {"json": {"name": ""}}, id="empty-name"),
    pytest.param("POST", "/items", {"json": {"name": "   "}}, id="whitespace-name"),
    pytest.param("POST", "/items", {"json": {"name": "nul\x00byte"}}, id="nul-byte"),
    pytest.param("POST", "/items", {"json": {"name": "bell\x07"}}, id="control-character"),
    pytest.param("GET", "/items", {"params": {"page_size": 0}}, id="page-size-0"),
    pytest.param("GET", "/items", {"params": {"page_size": 10**9}}, id="page-size-huge"),
    pytest.param("GET", "/items", {"params": {"page": -1}}, id="negative-page"),
    pytest.param("GET", "/items", {"params": {"page": 10**30}}, id="huge-page"),
    pytest.param(
        "POST",
        "/items/bulk",
        {"json": [{"name": f"bulk-{number}"} for number in range(10_000)]},
        id="bulk-10000",
    ),
    pytest.param("POST", "/items/bulk", {"json": []}, id="bulk-empty"),
    pytest.param("GET", "/items/987654", {}, id="unknown-id"),
    pytest.param("GET", "/items/abc", {}, id="id-not-a-number"),
    pytest.param("GET", f"/items/{2**63}", {}, id="id-past-bigint"),
    pytest.param("DELETE", "/items/0", {}, id="id-zero"),
    pytest.param(
        "POST", "/items/adjust-quantity", {"json": {"name_prefix": "x", "delta": 2**40}}, id="delta"
    ),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), HOSTILE_REQUESTS)
async def test_hostile_input_is_a_4xx_with_a_json_error(
    client: httpx.AsyncClient, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    response = await client.request(method, path, **kwargs)

    assert 400 <= response.status_code < 500, response.text
    assert "detail" in response.json()


async def test_unicode_names_are_stored_as_sent(client: httpx.AsyncClient) -> None:
    name = "Café ☕ 東京 𝄞"

    created = await create(client, name)

    assert (await client.get(f"/items/{created['id']}")).json()["name"] == name
