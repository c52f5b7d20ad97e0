"""Request ids: `X-Request-ID` is the client's when it is a sane token and a new one otherwise,
on every response, errors included."""

import re

import httpx
import pytest

from {{ cookiecutter.project_slug }}.settings import Settings

from .support.helpers import create
from .support.identity_provider import access_headers
from .support.serving import serve
from .support.tables import empty_tables

pytestmark = pytest.mark.anyio

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("3f2b1c4d-aaaa-4bbb-8ccc-0123456789ab", True),
        ("01HZX3K8Q9V7W6T5S4R3P2N1M0", True),
        ("Root=1-5759e988-bd862e3fe1be46a994272793", False),  # '=' is not in the charset
        ("a" * 65, False),
        ("two words", False),
        ("", False),
    ],
)
async def test_request_id_is_taken_when_sane_and_generated_otherwise(
    client: httpx.AsyncClient, sent: str, kept: bool
) -> None:
    response = await client.get("/health", headers={"X-Request-ID": sent})

    if kept:
        assert response.headers["x-request-id"] == sent
    else:
        assert GENERATED_ID.fullmatch(response.headers["x-request-id"])


async def test_every_response_carries_a_request_id_errors_included(database_url: str) -> None:
    settings = Settings(database_url=database_url, pool_size=1, capacity_timeout=0.2)
    async with serve(settings) as (app, client):

        async def broken() -> None:
            raise RuntimeError("a bug")

        app.router.add_api_route("/broken", broken)
        await empty_tables(app)
        item = await create(client, "bolt")
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=access_headers()
        ) as raw:
            responses = {
                404: await raw.get("/items/987654"),
                409: await raw.post("/items", json={"name": "bolt"}),
                422: await raw.get("/items/0"),
                500: await raw.get("/broken"),
            }
            await app.state.database_slots.acquire()  # the only slot: the next request waits
            try:
                responses[503] = await raw.get(f"/items/{item['id']}")
            finally:
                app.state.database_slots.release()

    for status_code, response in responses.items():
        assert response.status_code == status_code
        assert GENERATED_ID.fullmatch(response.headers["x-request-id"]), status_code
    assert responses[503].headers["retry-after"]
