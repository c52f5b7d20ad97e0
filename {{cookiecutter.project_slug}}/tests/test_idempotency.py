"""Idempotency keys: a retried request has its effect once (idempotency/, README: Retries).

The key, the effect and the response to replay are committed by one transaction: a response
lost after the commit is replayed to the retry; a request that failed stored nothing, so its
retry runs; concurrent retries wait for the first and replay it.
"""

import runpy
import sys
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from {{ cookiecutter.project_slug }} import commands
from {{ cookiecutter.project_slug }}.idempotency import repository
from {{ cookiecutter.project_slug }}.main import create_app
from {{ cookiecutter.project_slug }}.settings import Settings, get_settings

from .support.database import execute, failing_after, open_engine, run_unit_of_work
from .support.helpers import create, gather, stored_items
from .support.identity_provider import access_headers, current_provider
from .support.log_capture import captured
from .support.lossy_proxy import lossy_proxy
from .support.serving import serve
from .support.tables import empty_database
from .support.uvicorn_server import uvicorn_in_thread

pytestmark = pytest.mark.anyio

CONCURRENT_RETRIES = 20
# The purge in small batches, so that two runs share the work.
PURGE_ARGUMENTS = ["purge-idempotency-keys", "--batch-size", "3"]
PURGE_TIMEOUT = 60


def keyed(key: str, **headers: str) -> dict[str, str]:
    return {"Idempotency-Key": key, **headers}


async def orders_stored(app: FastAPI) -> int:
    return int((await execute(app.state.engine, "SELECT count(*) FROM orders"))[0][0])


async def keys_stored(engine: Any) -> int:
    return int((await execute(engine, "SELECT count(*) FROM idempotency_keys"))[0][0])


async def age_keys(app: FastAPI, *, count: int) -> None:
    """Move the first `count` keys (by id) past the retention."""
    ids = [row[0] for row in await execute(app.state.engine, "SELECT id FROM idempotency_keys")]
    old = ", ".join(str(id_) for id_ in sorted(ids)[:count])
    retention = app.state.settings.idempotency_key_retention
    await execute(
        app.state.engine,
        f"UPDATE idempotency_keys SET created_at = created_at - {retention + 60}"
        f" WHERE id IN ({old})",
    )


async def test_a_retry_with_the_same_key_replays_the_first_response(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bolt = await create(client, "bolt", 10)
    order = {"lines": [{"item_id": bolt["id"], "quantity": 3}]}

    first = await client.post("/orders", json=order, headers=keyed("order-1"))
    retry = await client.post("/orders", json=order, headers=keyed("order-1"))

    assert first.status_code == retry.status_code == 201, (first.text, retry.text)
    assert retry.json() == first.json()
    for header in ("location", "etag"):
        assert retry.headers[header] == first.headers[header]
    assert "idempotent-replayed" not in first.headers
    assert retry.headers["idempotent-replayed"] == "true"
    # The effect happened once: one order, stock taken once.
    assert await orders_stored(app) == 1
    assert await stored_items(app) == {"bolt": 7}


async def test_every_non_idempotent_operation_takes_a_key(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bolt = await create(client, "bolt", 10)
    nut = await create(client, "nut", 10)
    lines = [{"item_id": nut["id"], "quantity": 1}]
    order = (await client.post("/orders", json={"lines": lines})).json()
    requests = [
        ("/items", {"name": "washer", "quantity": 1}),
        ("/items/bulk", [{"name": "screw"}, {"name": "rivet"}]),
        ("/items/adjust-quantity", {"name_prefix": "bolt", "delta": 1}),
        (f"/items/{bolt['id']}/transfer", {"to_item_id": nut["id"], "quantity": 2}),
        (f"/orders/{order['id']}/cancel", None),
    ]
    for number, (path, body) in enumerate(requests):
        first = await client.post(path, json=body, headers=keyed(f"op-{number}"))
        retry = await client.post(path, json=body, headers=keyed(f"op-{number}"))
        assert first.status_code < 300, (path, first.text)
        assert (retry.status_code, retry.json()) == (first.status_code, first.json()), path
        assert retry.headers["idempotent-replayed"] == "true", path
    # Each effect once: bolt +1 then -2; nut +2 and its order's 1 back; one washer, one screw.
    assert await stored_items(app) == {"bolt": 9, "nut": 12, "washer": 1, "screw": 0, "rivet": 0}


async def test_the_same_key_with_another_request_is_422_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bolt = await create(client, "bolt", 10)
    first = await client.post(
        "/orders", json={"lines": [{"item_id": bolt["id"], "quantity": 1}]}, headers=keyed("k")
    )
    assert first.status_code == 201

    other = await client.post(
        "/orders", json={"lines": [{"item_id": bolt["id"], "quantity": 5}]}, headers=keyed("k")
    )

    assert other.status_code == 422, other.text
    assert "different request" in other.json()["detail"]
    assert await stored_items(app) == {"bolt": 9}
    assert await orders_stored(app) == 1


async def test_a_key_is_the_callers_own(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Another principal's retry with the same key is its own request: it neither sees the
    first caller's order nor is refused for it."""
    bolt = await create(client, "bolt", 10)
    order = {"lines": [{"item_id": bolt["id"], "quantity": 1}]}
    mine = await client.post("/orders", json=order, headers=keyed("shared-key"))
    intruder = current_provider().headers(sub="intruder")

    theirs = await client.post("/orders", json=order, headers={**intruder, **keyed("shared-key")})

    assert theirs.status_code == 201, theirs.text
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]
    assert await stored_items(app) == {"bolt": 8}


async def test_a_request_that_failed_stored_nothing_and_its_retry_runs(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The key is written in the effect's transaction: a refused request rolls both back."""
    bolt = await create(client, "bolt", 1)
    order = {"lines": [{"item_id": bolt["id"], "quantity": 5}]}
    refused = await client.post("/orders", json=order, headers=keyed("try-again"))
    assert refused.status_code == 409, refused.text
    assert await keys_stored(app.state.engine) == 0

    await client.patch(f"/items/{bolt['id']}", json={"quantity": 10})
    retry = await client.post("/orders", json=order, headers=keyed("try-again"))

    assert retry.status_code == 201, retry.text
    assert "idempotent-replayed" not in retry.headers
    assert await stored_items(app) == {"bolt": 5}


async def test_concurrent_retries_with_one_key_have_one_effect(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bolt = await create(client, "bolt", 100)
    order = {"lines": [{"item_id": bolt["id"], "quantity": 1}]}

    responses = await gather(
        *(
            client.post("/orders", json=order, headers=keyed("storm"))
            for _ in range(CONCURRENT_RETRIES)
        )
    )

    statuses = sorted(response.status_code for response in responses)
    assert all(status in (201, 409) for status in statuses), statuses
    created = [response for response in responses if response.status_code == 201]
    assert len({response.json()["id"] for response in created}) == 1
    assert sum("idempotent-replayed" not in response.headers for response in created) == 1
    assert await orders_stored(app) == 1
    assert await stored_items(app) == {"bolt": 99}
    assert app.state.engine.pool.checkedout() == 0


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("k" * 10_000, 400),
        ("with space", 400),
        ('"quoted-key"', 201),
        ("k" * 255, 201),
        ("k" * 256, 400),
    ],
    ids=["10kB", "space", "quoted", "255", "256"],
)
async def test_keys_are_validated_before_any_work(
    app: FastAPI, client: httpx.AsyncClient, value: str, status: int
) -> None:
    response = await client.post("/items", json={"name": "bolt"}, headers=keyed(value))

    assert response.status_code == status, response.text
    assert await keys_stored(app.state.engine) == (1 if status == 201 else 0)


async def test_a_required_key_is_a_400_when_missing(database_url: str) -> None:
    await empty_database(database_url)
    settings = Settings(database_url=database_url, idempotency_key_required=True)
    async with serve(settings) as (_, client):
        missing = await client.post("/items", json={"name": "bolt"})
        given = await client.post("/items", json={"name": "bolt"}, headers=keyed("k"))
        document = (await client.get("/openapi.json")).json()
    assert "Idempotency-Key" in document["info"]["description"]
    assert missing.status_code == 400, missing.text
    assert "Idempotency-Key" in missing.json()["detail"]
    assert given.status_code == 201


async def test_a_key_past_its_retention_is_a_new_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    first = await client.post("/items/bulk", json=[{"name": "bolt"}], headers=keyed("old"))
    assert first.status_code == 201
    await age_keys(app, count=1)

    again = await client.post("/items/bulk", json=[{"name": "nut"}], headers=keyed("old"))

    assert again.status_code == 201, again.text
    assert "idempotent-replayed" not in again.headers
    assert await keys_stored(app.state.engine) == 1


async def test_a_response_lost_after_commit_is_replayed_to_the_retry(
    app_settings: Settings, database_url: str
) -> None:
    """The client's connection is cut after the service committed and before the response
    reached it; the client retries with the same key and learns what happened."""
    await empty_database(database_url)
    app = create_app(app_settings)
    headers = access_headers()
    with uvicorn_in_thread(app) as base_url:
        async with (
            lossy_proxy(base_url) as (proxy, proxied_url),
            httpx.AsyncClient(base_url=proxied_url, headers=headers) as client,
        ):
            bolt = (await client.post("/items", json={"name": "bolt", "quantity": 10})).json()
            order = {"lines": [{"item_id": bolt["id"], "quantity": 4}]}
            proxy.losing = True
            with pytest.raises(httpx.TransportError):
                await client.post("/orders", json=order, headers=keyed("lost-1"))
            assert proxy.lost == 1
            proxy.losing = False
            retry = await client.post("/orders", json=order, headers=keyed("lost-1"))
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    async with open_engine(database_url) as engine:
        orders = await execute(engine, "SELECT id FROM orders")
        stock = await execute(engine, "SELECT quantity FROM items")
    assert [row[0] for row in orders] == [retry.json()["id"]]
    assert [row[0] for row in stock] == [6]


async def test_the_purge_deletes_only_expired_keys_from_two_runs_at_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two purges at once, as two replicas' cron jobs would run them (in two threads of this
    process, each with its own engine, to spare two interpreters' start-up): together they
    delete the expired keys, each once, and nothing else."""
    for number in range(30):
        response = await client.post(
            "/items", json={"name": f"item-{number}"}, headers=keyed(f"k{number}")
        )
        assert response.status_code == 201
    # 20 keys past the retention, 10 within it.
    await age_keys(app, count=20)
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    exits: list[int] = []

    async def purge() -> None:
        exits.append(await anyio.to_thread.run_sync(commands.main, PURGE_ARGUMENTS))

    try:
        async with captured() as logs:
            with anyio.fail_after(PURGE_TIMEOUT):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(purge)
                    tasks.start_soon(purge)
    finally:
        get_settings.cache_clear()

    assert exits == [0, 0]
    assert await keys_stored(app.state.engine) == 10
    summaries = [line for line in logs.entries() if "expired idempotency keys" in line["message"]]
    assert [entry["job.name"] for entry in summaries] == [commands.PURGE] * 2
    assert sum(int(entry["message"].split()[1]) for entry in summaries) == 20


def test_the_package_runs_the_commands(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m <package> purge-idempotency-keys` is what a cron job runs: the package's
    __main__ hands its arguments to commands.main, which refuses a bad one before any work."""
    monkeypatch.setattr(sys, "argv", ["python -m", commands.PURGE, "--batch-size", "0"])
    with pytest.raises(SystemExit) as exited:
        runpy.run_module(commands.__name__.rpartition(".")[0], run_name="__main__")
    assert exited.value.code == 2
    assert "--batch-size must be at least 1" in capsys.readouterr().err


async def test_a_failed_purge_batch_leaves_its_keys(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch is one unit of work: a failure after its DELETE rolls the whole batch back."""
    for number in range(5):
        response = await client.post(
            "/items", json={"name": f"item-{number}"}, headers=keyed(f"k{number}")
        )
        assert response.status_code == 201
    await age_keys(app, count=5)
    failure = RuntimeError("the batch fails after its DELETE")
    monkeypatch.setattr(repository, "delete_keys", failing_after(repository.delete_keys, failure))

    with pytest.raises(RuntimeError):
        await run_unit_of_work(commands.purge_idempotency_keys, app.state.settings, batch_size=10)

    assert await keys_stored(app.state.engine) == 5
