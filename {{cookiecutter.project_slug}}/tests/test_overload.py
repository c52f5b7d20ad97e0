"""Overload: requests far beyond the pool's capacity queue for a database slot; none fails."""

from typing import Any

import anyio
import httpx
import pytest

from {{ cookiecutter.project_slug }}.settings import Settings

from .support.database import open_engine, uncommitted_write
from .support.helpers import create, gather, stored_items
from .support.serving import serve
from .support.tables import empty_tables

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
        await empty_tables(app)
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


async def test_requests_wait_for_a_database_slot_not_inside_the_pool(database_url: str) -> None:
    """One connection, a pool timeout of 0.2 s, and a row lock held for a second by another
    connection: the first write waits for the lock on the only connection, and the others wait
    for a database slot in the event loop, as long as it takes. Waiting inside the pool instead,
    they would give up after 0.2 s with a 503."""
    settings = Settings(database_url=database_url, pool_size=1, pool_timeout=0.2)
    responses: list[httpx.Response] = []
    async with serve(settings) as (app, client):
        await empty_tables(app)
        item = await create(client, "bolt")
        lock = f"UPDATE items SET quantity = 1 WHERE id = {item['id']}"

        async def write_five_times() -> None:
            updates = (client.patch(f"/items/{item['id']}", json={"quantity": n}) for n in range(5))
            responses.extend(await gather(*updates))

        # Leaving the block releases the lock first, then waits for the writes.
        async with (
            open_engine(database_url) as other,
            anyio.create_task_group() as tasks,
            uncommitted_write(other, lock),
        ):
            tasks.start_soon(write_five_times)
            await anyio.sleep(1)

    assert [response.status_code for response in responses] == [200] * 5
