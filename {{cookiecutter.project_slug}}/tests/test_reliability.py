"""Reliability: overload, connections killed by the server, failed commits, concurrent writers,
a database that goes away and comes back, hostile input, and nothing lost.
"""
{% if cookiecutter.database != "sqlite" %}
import asyncio
import time
{%- endif %}
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
{%- if cookiecutter.database != "sqlite" %}
from sqlalchemy import make_url
{%- endif %}

from {{ cookiecutter.project_slug }}.settings import Settings

from .database import execute{% if cookiecutter.database == "mysql" %}, execute_for_each_row_until_gone{% endif %}
from .serving import serve

pytestmark = pytest.mark.anyio


async def gather(*requests: Any) -> list[httpx.Response]:
    """Send requests concurrently; return their responses in order."""
    responses: list[httpx.Response | None] = [None] * len(requests)

    async def send(index: int, request: Any) -> None:
        responses[index] = await request

    async with anyio.create_task_group() as tasks:
        for index, request in enumerate(requests):
            tasks.start_soon(send, index, request)
    return [response for response in responses if response is not None]


async def create(client: httpx.AsyncClient, name: str, quantity: int = 0) -> dict[str, Any]:
    response = await client.post("/items", json={"name": name, "quantity": quantity})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def stored_items(app: FastAPI) -> dict[str, int]:
    rows = await execute(app.state.engine, "SELECT name, quantity FROM items")
    return {row.name: row.quantity for row in rows}


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
{%- if cookiecutter.database == "postgres" %}


async def kill_other_connections(engine: Any) -> int:
    """Terminate the other connections to this database; return once the server has closed
    them (the timeout makes pg_terminate_backend wait for that)."""
    rows = await execute(
        engine,
        "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    return len(rows)
{%- elif cookiecutter.database == "mysql" %}


async def kill_other_connections(engine: Any) -> int:
    """KILL the other connections to this database; return once the server has closed them."""
    return await execute_for_each_row_until_gone(
        engine,
        "SELECT id FROM information_schema.processlist"
        " WHERE db = DATABASE() AND id <> CONNECTION_ID()",
        "KILL {}",
        "SELECT count(*) FROM information_schema.processlist WHERE id IN ({})",
    )
{%- endif %}
{%- if cookiecutter.database == "sqlite" %}


@pytest.mark.skip(reason="SQLite has no server that could close connections: it is a file")
async def test_connections_killed_by_the_server_are_replaced() -> None:
    """A server-side kill cannot happen to an in-process SQLite database."""
{%- else %}


async def test_connections_killed_by_the_server_are_replaced(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    # Fill the pool with open connections, then have the server kill every one of them.
    await gather(*(client.get("/items") for _ in range(20)))
    assert await kill_other_connections(app.state.engine) > 0

    statuses = [(await client.get("/items")).status_code for _ in range(20)]

    assert statuses == [200] * 20
{%- endif %}
{%- if cookiecutter.database == "mysql" %}


@pytest.mark.skip(reason="MySQL checks every constraint at once: it has no deferred constraints")
async def test_a_commit_that_fails_is_never_reported_as_success() -> None:
    """Without deferred constraints, a MySQL COMMIT cannot fail on a constraint."""
{%- else %}


async def test_a_commit_that_fails_is_never_reported_as_success(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    item = await create(client, "bolt")
    # A reservation refers to the item through a foreign key that is checked only at COMMIT,
    # so deleting the item succeeds statement by statement and fails when committed.
    await execute(
        app.state.engine,
        "CREATE TABLE reservations ("
        " item_id INTEGER NOT NULL REFERENCES items (id) DEFERRABLE INITIALLY DEFERRED)",
    )
    try:
        await execute(app.state.engine, f"INSERT INTO reservations VALUES ({item['id']})")

        response = await client.delete(f"/items/{item['id']}")

        assert response.status_code == 409
        assert (await client.get(f"/items/{item['id']}")).status_code == 200
    finally:
        await execute(app.state.engine, "DROP TABLE reservations")
{%- endif %}


async def test_concurrent_writers_and_readers_all_succeed_and_every_write_is_kept(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    items = [await create(client, f"stock-{number}", 100) for number in range(4)]
    # Transfers read, then write. Two that both read before either writes would deadlock over
    # the rows or the write lock, and one would fail: the service must make them queue instead.
    writers = [
        client.post(
            f"/items/{items[number % 4]['id']}/transfer",
            json={"to_item_id": items[(number + 1) % 4]["id"], "quantity": 1},
        )
        for number in range(20)
    ]
    creators = [client.post("/items", json={"name": f"new-{number}"}) for number in range(20)]
    readers = [client.get("/items") for _ in range(20)]

    responses = await gather(*writers, *creators, *readers)

    assert [response.status_code for response in responses] == [200] * 20 + [201] * 20 + [200] * 20
    stored = await stored_items(app)
    assert sum(stored[f"stock-{number}"] for number in range(4)) == 400
    assert all(f"new-{number}" in stored for number in range(20))
{%- if cookiecutter.database == "sqlite" %}


@pytest.mark.skip(reason="SQLite cannot go down apart from the service: it is a file in-process")
async def test_a_database_that_goes_away_and_comes_back() -> None:
    """The unreachable case is covered by test_database.py (a missing directory)."""
{%- else %}


class TcpProxy:
    """A TCP proxy in front of the test database that forwards, refuses, or accepts and hangs."""

    def __init__(self, database_url: str) -> None:
        self._target = make_url(database_url)
        self._mode = "forward"
        self._server: asyncio.Server | None = None
        self._sockets: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        proxied = self._target.set(host="127.0.0.1", port=self.port)
        return proxied.render_as_string(hide_password=False)

    async def __aenter__(self) -> "TcpProxy":
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        self._drop_connections()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def forward(self) -> None:
        self._switch("forward")

    def refuse(self) -> None:
        self._switch("refuse")

    def hang(self) -> None:
        self._switch("hang")

    def _switch(self, mode: str) -> None:
        # Whatever was connected before belongs to the old state of the "server".
        self._mode = mode
        self._drop_connections()

    def _drop_connections(self) -> None:
        for writer in self._sockets:
            writer.close()
        self._sockets.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._sockets.add(writer)
        if self._mode == "refuse":
            writer.close()
        elif self._mode == "hang":
            await reader.read()  # until the client gives up or the proxy drops it
        else:
            host, port = self._target.host or "127.0.0.1", self._target.port
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
            self._sockets.add(upstream_writer)
            await asyncio.gather(
                self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
            )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()


async def test_a_database_that_goes_away_and_comes_back(database_url: str) -> None:
    async with TcpProxy(database_url) as proxy:
        settings = Settings(database_url=proxy.url, ready_timeout=1)
        async with serve(settings) as (_, client):
            assert (await client.get("/items")).status_code == 200

            proxy.refuse()
            down = await client.get("/items")
            assert down.status_code == 503

            # A server that accepts connections and never answers must not hang the probe.
            proxy.hang()
            started = time.monotonic()
            ready = await client.get("/health/ready")
            assert ready.status_code == 503
            assert time.monotonic() - started < 2

            proxy.forward()
            statuses = [(await client.get("/items")).status_code for _ in range(5)]
            assert statuses == [200] * 5
            assert (await client.get("/health/ready")).status_code == 200
{%- endif %}


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


async def test_a_mixed_concurrent_workload_leaves_exactly_the_acknowledged_effects(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    existing = [await create(client, f"item-{number}", number) for number in range(30)]
    expected = {item["name"]: item["quantity"] for item in existing}
    operations: list[tuple[str, Any]] = []
    for number, item in enumerate(existing):
        if number % 3 == 0:
            operations.append(("delete", item))
        elif number % 3 == 1:
            operations.append(("set-quantity", item))
        else:  # deliberately failing: renames onto a name that is taken
            operations.append(("rename-onto-taken", item))
    new_names = [f"new-{number}" for number in range(20)] + [f"item-{n}" for n in range(10)]

    requests = []
    for kind, item in operations:
        if kind == "delete":
            requests.append(client.delete(f"/items/{item['id']}"))
        elif kind == "set-quantity":
            requests.append(client.patch(f"/items/{item['id']}", json={"quantity": 1000}))
        else:
            requests.append(client.patch(f"/items/{item['id']}", json={"name": "item-1"}))
    requests += [client.post("/items", json={"name": name, "quantity": 5}) for name in new_names]

    responses = await gather(*requests)

    for (kind, item), response in zip(operations, responses, strict=False):
        if kind == "delete":
            assert response.status_code == 204
            del expected[item["name"]]
        elif kind == "set-quantity":
            assert response.status_code == 200
            expected[item["name"]] = 1000
        else:
            assert response.status_code == 409
    for name, response in zip(new_names, responses[len(operations) :], strict=True):
        if response.status_code == 201:
            expected[name] = 5
        else:
            assert response.status_code == 409, response.text
    assert await stored_items(app) == expected
