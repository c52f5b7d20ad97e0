"""SQLite needs a few settings before it behaves like a server database under concurrency."""

from typing import Any

from sqlalchemy import Connection, Engine, event

# Milliseconds a connection waits for another writer's lock before failing.
BUSY_TIMEOUT_MS = 30_000
# Execution option of read-only units of work (see db.begin_read_only).
READ_ONLY_OPTION = "read_only"


def configure_sqlite(engine: Engine) -> None:
    """WAL journal, busy timeout, foreign keys, and BEGIN IMMEDIATE transactions.

    The driver's own transaction handling is switched off and every transaction that may write
    starts with BEGIN IMMEDIATE: one that reads and then writes would otherwise fail at once with
    "database is locked" when another writer holds the lock, and SAVEPOINTs would not work.
    Read-only units of work start with a plain (deferred) BEGIN: in WAL mode they read a snapshot
    while a writer works, instead of queueing for the write lock.
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
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
