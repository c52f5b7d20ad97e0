"""MariaDB with `innodb_snapshot_isolation=ON` (the default from 11.6): a write to a row that
another transaction changed after this one's snapshot is refused with error 1020 ("record has
changed since last read"). The service answers it as it answers a failed version check: 412,
nothing changed, the rollback counted as "stale"."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.orm import Session

from {{ cookiecutter.project_slug }}.items.models import Item

from .support.database import sync_engine_of
from .support.helpers import create, stored_items
from .support.log_capture import captured

pytestmark = pytest.mark.anyio


async def test_a_row_changed_since_the_snapshot_is_a_412(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    item = await create(client, "bolt", 5)

    @event.listens_for(sync_engine_of(app.state.engine), "checkout")
    def snapshot_isolation(dbapi_connection: Any, *_: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET SESSION innodb_snapshot_isolation = ON")
        cursor.close()

    # Another client's change, committed after the PATCH's unit of work has read the row (its
    # snapshot) and before it writes: a blocking driver of the test's own, for a listener that
    # runs inside the flush.
    other = create_engine(make_url(database_url).set(drivername="mysql+pymysql"))

    def concurrent_change(session: Session, *_: Any) -> None:
        if any(isinstance(row, Item) for row in session.dirty):
            with other.begin() as connection:
                connection.execute(
                    text("UPDATE items SET quantity = 7, version = version + 1 WHERE id = :id"),
                    {"id": item["id"]},
                )

    event.listen(Session, "before_flush", concurrent_change)
    try:
        async with captured() as logs:
            response = await client.patch(f"/items/{item['id']}", json={"quantity": 9})
    finally:
        event.remove(Session, "before_flush", concurrent_change)
        event.remove(sync_engine_of(app.state.engine), "checkout", snapshot_isolation)
        other.dispose()

    assert response.status_code == 412, response.text
    assert [
        (line["db.rollback.cause"], line["db.response.status_code"]) for line in logs.rollbacks()
    ] == [("stale", "1020")]
    # The other client's change stands; the refused one changed nothing.
    assert await stored_items(app) == {"bolt": 7}
