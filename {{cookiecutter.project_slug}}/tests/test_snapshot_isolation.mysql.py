"""MariaDB with `innodb_snapshot_isolation=ON` (the default from 11.6): a locking read or a write
of a row that another transaction changed after this one's snapshot is refused with error 1020
("record has changed since last read"). The service answers it as it answers a failed version
check: 412, nothing changed, the rollback counted as "stale"."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, event, make_url, text

from .support.database import sync_engine_of
from .support.helpers import create, stored_items
from .support.log_capture import captured

pytestmark = pytest.mark.anyio


async def test_a_row_changed_since_the_snapshot_is_a_412(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    item = await create(client, "bolt", 5)
    engine = sync_engine_of(app.state.engine)
    # Another client's change, a blocking driver of the test's own, for listeners that run
    # inside the service's database calls.
    other = create_engine(make_url(database_url).set(drivername="mysql+pymysql"))

    def snapshot_isolation(dbapi_connection: Any, *_: Any) -> None:
        run(dbapi_connection, "SET SESSION innodb_snapshot_isolation = ON")

    def snapshot_then_concurrent_change(connection: Any) -> None:
        # The PATCH's transaction takes its snapshot (a plain read) ...
        run(connection.connection.dbapi_connection, "SELECT count(*) FROM items")
        # ... then another client changes the item and commits, before the PATCH reads it
        # with a lock: that locking read finds a row newer than the snapshot.
        with other.begin() as change:
            change.execute(
                text("UPDATE items SET quantity = 7, version = version + 1 WHERE id = :id"),
                {"id": item["id"]},
            )

    event.listen(engine, "checkout", snapshot_isolation)
    event.listen(engine, "begin", snapshot_then_concurrent_change)
    try:
        async with captured() as logs:
            response = await client.patch(f"/items/{item['id']}", json={"quantity": 9})
    finally:
        event.remove(engine, "begin", snapshot_then_concurrent_change)
        event.remove(engine, "checkout", snapshot_isolation)
        other.dispose()

    assert response.status_code == 412, response.text
    assert [
        (line["db.rollback.cause"], line["db.response.status_code"]) for line in logs.rollbacks()
    ] == [("stale", "1020")]
    # The other client's change stands; the refused one changed nothing.
    assert await stored_items(app) == {"bolt": 7}


def run(dbapi_connection: Any, sql: str) -> None:
    """One statement on a driver's own connection, beside SQLAlchemy's bookkeeping."""
    cursor = dbapi_connection.cursor()
    cursor.execute(sql)
    cursor.fetchall()
    cursor.close()
