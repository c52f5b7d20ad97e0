"""The service behind a real PgBouncer in transaction pool mode (DATABASE_POOLER=pgbouncer).

Behind a transaction pooler consecutive transactions of one client connection may run on
different server connections, so nothing may rely on a server-side prepared statement outliving
its transaction. The session convention's own tests run again through PgBouncer (those marked
`through_poolers`: test_convention_behaviour.py, test_out_of_range.py, test_concurrency.py, as
`[pgbouncer]`); here, mixed traffic succeeds through it, and the negative control shows that the
same traffic fails without the setting. A forgotten setting is found at start-up: the service
refuses to start, with one line naming it.
"""

import logging
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from pydantic import ValidationError

from {{ cookiecutter.project_slug }}.database.failures import StartupCheckError
from {{ cookiecutter.project_slug }}.settings import Settings

from .support.database import execute
from .support.pgbouncer import PgBouncer
from .support.project import PROJECT_ROOT
from .support.serving import Pooler, serve
from .support.tables import empty_tables
from .support.uvicorn_server import running_uvicorn

pytestmark = pytest.mark.anyio

# Concurrent requests of the traffic test: the smallest burst that made the negative control
# fail in every trial with both drivers. psycopg prepares a query only after its fifth run on a
# connection, so it takes about this many requests before one lands on the wrong connection;
# asyncpg fails from about 20. Two rounds on the same app: psycopg's failures grow with the
# statements it has prepared (in trials: 3-9 failed requests after one round).
REQUESTS = 120
ROUNDS = 2
# What the drivers say when a prepared statement is missing, already there, or another one.
PREPARED_STATEMENT_ERRORS = ("prepared statement", "_pg3_", "__asyncpg_stmt_")
# The setting a service behind PgBouncer needs, as the start-up check names it.
FORGOTTEN = "DATABASE_POOLER=pgbouncer"
# Seconds `serve` may take to refuse: one interpreter importing the app, on a loaded machine.
REFUSED_START_TIMEOUT = 60.0


@pytest.fixture
def pgbouncer(poolers: dict[str, Pooler]) -> PgBouncer:
    """The run's PgBouncer, the one the tests marked `through_poolers` run behind."""
    bouncer = poolers["pgbouncer"]
    assert isinstance(bouncer, PgBouncer)
    return bouncer


async def mixed_traffic(settings: Settings, direct_url: str) -> tuple[Counter[int], set[str]]:
    """ROUNDS bursts of REQUESTS concurrent GET one / GET page / POST / PATCH through the real
    app. Returns the status counts and the names acknowledged (201) but not stored."""
    statuses: Counter[int] = Counter()
    acknowledged: set[str] = set()
    # Seeded through a direct connection, so the seeding cannot trip over the pooler.
    async with serve(Settings(database_url=direct_url)) as (direct, _):
        await empty_tables(direct)
        for number in range(10):
            await execute(
                direct.state.engine,
                "INSERT INTO items (name, quantity) VALUES (:name, 1)",
                name=f"seed-{number}",
            )
        ids = [row.id for row in await execute(direct.state.engine, "SELECT id FROM items")]

    async with serve(settings) as (_, client):

        async def one(number: int) -> None:
            item_id = ids[number % len(ids)]
            response: httpx.Response
            if number % 4 == 0:
                response = await client.get(f"/items/{item_id}")
            elif number % 4 == 1:
                response = await client.get("/items", params={"page_size": 5})
            elif number % 4 == 2:
                name = f"new-{uuid.uuid4().hex[:12]}"
                response = await client.post("/items", json={"name": name, "quantity": 1})
                if response.status_code == 201:
                    acknowledged.add(name)
            else:
                response = await client.patch(f"/items/{item_id}", json={"quantity": number})
            statuses[response.status_code] += 1

        for _round in range(ROUNDS):
            async with anyio.create_task_group() as tasks:
                for number in range(REQUESTS):
                    tasks.start_soon(one, number)

    async with serve(Settings(database_url=direct_url)) as (direct, _):
        stored = {row.name for row in await execute(direct.state.engine, "SELECT name FROM items")}
    return statuses, acknowledged - stored


def logged_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The first line of every logged error or warning, with its exception's."""
    errors = []
    for record in caplog.records:
        if record.levelno < logging.WARNING:
            continue
        exception: Any = record.exc_info[1] if record.exc_info else ""
        errors.append(f"{record.getMessage()} {exception}".splitlines()[0])
    return errors


async def test_traffic_through_pgbouncer_succeeds_with_the_setting(
    database_url: str, pgbouncer: PgBouncer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=pgbouncer.url_for(database_url), database_pooler="pgbouncer")
    statuses, lost = await mixed_traffic(settings, database_url)
    print(f"through PgBouncer with DATABASE_POOLER=pgbouncer: {dict(statuses)}")
    assert set(statuses) <= {200, 201}, (dict(statuses), logged_errors(caplog)[:3])
    assert statuses[201] == ROUNDS * REQUESTS // 4
    assert not lost


async def test_negative_control_the_same_traffic_fails_without_the_setting(
    database_url: str, pgbouncer: PgBouncer, caplog: pytest.LogCaptureFixture
) -> None:
    # Without the database-enforced limits too: connected "directly", the service would send
    # them as startup parameters, which PgBouncer refuses (asyncpg) or drops (psycopg). Only the
    # driver's prepared statements then differ from the test above.
    settings = Settings(
        database_url=pgbouncer.url_for(database_url),
        database_pooler="none",
        statement_timeout=0,
        lock_timeout=0,
        idle_in_transaction_timeout=0,
    )
    statuses, lost = await mixed_traffic(settings, database_url)
    failed = statuses[500] + statuses[503]
    print(f"through PgBouncer without DATABASE_POOLER: {dict(statuses)}")
    assert failed, f"the traffic did not bite without DATABASE_POOLER: {dict(statuses)}"
    errors = logged_errors(caplog)
    assert any(kind in error for error in errors for kind in PREPARED_STATEMENT_ERRORS), errors
    # Even then, a write acknowledged to its client is stored.
    assert not lost


async def test_the_connection_budget_is_not_checked_behind_the_pooler(
    database_url: str, pgbouncer: PgBouncer, caplog: pytest.LogCaptureFixture
) -> None:
    # Far over any server's limit: behind the pooler these are PgBouncer's clients, not the
    # server's connections.
    settings = Settings(
        database_url=pgbouncer.url_for(database_url),
        database_pooler="pgbouncer",
        web_concurrency=1000,
        replicas=1000,
    )
    with caplog.at_level(logging.INFO):
        async with serve(settings) as (_, client):
            assert (await client.get("/items")).status_code == 200
    assert any("behind a transaction pooler" in r.getMessage() for r in caplog.records)


async def test_a_forgotten_pooler_setting_refuses_to_start_naming_it(
    database_url: str, pgbouncer: PgBouncer
) -> None:
    # The default limits go as startup settings, which this PgBouncer drops (psycopg's
    # `options`, ignore_startup_parameters) or refuses (asyncpg's, one parameter each).
    settings = Settings(database_url=pgbouncer.url_for(database_url), database_pooler="none")
    with pytest.raises(StartupCheckError) as raised:
        async with serve(settings):
            pass
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{FORGOTTEN} is missing"), message


async def test_connected_directly_the_pooler_check_says_nothing(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        async with serve(Settings(database_url=database_url)) as (_, client):
            assert (await client.get("/items")).status_code == 200
    assert not [r.getMessage() for r in caplog.records if "DATABASE_POOLER" in r.getMessage()]


async def test_serve_behind_pgbouncer_without_the_setting_exits_non_zero_with_one_line(
    database_url: str, pgbouncer: PgBouncer, tmp_path: Path
) -> None:
    environment = {"DATABASE_URL": pgbouncer.url_for(database_url), "DATABASE_POOLER": "none"}
    with running_uvicorn(
        environment=environment,
        cwd=PROJECT_ROOT,
        log=tmp_path / "serve.log",
        stop_timeout=10,
    ) as server:
        with anyio.move_on_after(REFUSED_START_TIMEOUT):
            while True:
                if server.process.poll() is not None:
                    break
                await anyio.sleep(0.1)
        output = server.log.read_text()
        assert server.process.returncode is not None, f"still running: {output[-3000:]}"
    assert server.process.returncode != 0, output[-3000:]
    assert len([line for line in output.splitlines() if FORGOTTEN in line]) == 1, output


def test_an_unknown_pooler_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValidationError, match="database_pooler"):
        Settings.model_validate({"database_pooler": "pgpool"})
