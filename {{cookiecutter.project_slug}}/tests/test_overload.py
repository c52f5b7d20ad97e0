"""Overload: requests far beyond the pool's capacity queue for a database slot; none fails."""

from typing import Any

import pytest

from {{ cookiecutter.project_slug }}.settings import Settings

from .database import execute
from .helpers import create, gather, stored_items
from .serving import serve

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="default-settings"),
        # 75x more concurrent requests than connections, and a pool timeout that any request
        # waiting inside the pool would miss.
        pytest.param({"pool_size": 2, "pool_timeout": 0.1}, id="small-pool-short-timeout"),
    ],
)
async def test_overload_queues_requests_instead_of_failing_them(
    database_url: str, overrides: dict[str, Any]
) -> None:
    settings = Settings(database_url=database_url, **overrides)
    async with serve(settings) as (app, client):
        await execute(app.state.engine, "DELETE FROM items")
        seed = await create(client, "seed")
        requests = []
        for number in range(150):
            if number % 3 == 0:
                requests.append(client.post("/items", json={"name": f"load-{number}"}))
            elif number % 3 == 1:
                requests.append(client.get("/items", params={"page_size": 10}))
            else:
                requests.append(client.get(f"/items/{seed['id']}"))

        responses = await gather(*requests)

        statuses = [response.status_code for response in responses]
        assert all(200 <= status < 300 for status in statuses), sorted(set(statuses))
        assert len(await stored_items(app)) == 1 + 50
