"""SQLite needs a few settings before it behaves like a server database under concurrency."""

from typing import Any

from sqlalchemy import Connection, Engine, event

# Milliseconds a connection waits for another writer's lock before failing.
BUSY_TIMEOUT_MS = 30_000


def configure_sqlite(engine: Engine) -> None:
    """WAL journal, busy timeout, foreign keys, and BEGIN IMMEDIATE transactions.

    The driver's own transaction handling is switched off and every transaction starts with
    BEGIN IMMEDIATE: a transaction that reads and then writes would otherwise fail at once with
    "database is locked" when another writer holds the lock, and SAVEPOINTs would not work.
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
