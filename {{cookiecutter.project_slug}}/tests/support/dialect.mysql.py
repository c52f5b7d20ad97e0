"""What the tests need to know of MySQL: how a database of the test run's own is made and
dropped, and how the server closes the service's connections."""

from contextlib import AbstractContextManager
from pathlib import Path

import anyio

from .database_server import created_database as created_server_database
from .database_server import execute_on_server
from .serving import StartPooler


def created_database(_directory: Path) -> AbstractContextManager[str]:
    return created_server_database(
        "CREATE DATABASE {name} CHARACTER SET utf8mb4", "DROP DATABASE {name}"
    )


async def kill_other_connections(database_url: str) -> int:
    """KILL every other connection to the database; return once the server has closed them."""
    rows = await execute_on_server(
        database_url,
        "SELECT id FROM information_schema.processlist"
        " WHERE db = DATABASE() AND id <> CONNECTION_ID()",
    )
    ids = [str(row.id) for row in rows]
    if not ids:
        return 0
    await execute_on_server(database_url, *(f"KILL {id_}" for id_ in ids))
    remaining = (
        f"SELECT count(*) FROM information_schema.processlist WHERE id IN ({', '.join(ids)})"
    )
    with anyio.fail_after(10):
        while True:
            if not (await execute_on_server(database_url, remaining))[0][0]:
                return len(ids)
            await anyio.sleep(0.01)


async def count_other_connections(database_url: str) -> int | None:
    """The server's connections to the database, the asking one left out."""
    rows = await execute_on_server(
        database_url,
        "SELECT count(*) FROM information_schema.processlist"
        " WHERE db = DATABASE() AND id <> CONNECTION_ID()",
    )
    return int(rows[0][0])


# The service runs behind no transaction pooler on MySQL: every test reaches the server itself.
POOLERS: dict[str, StartPooler] = {}
# The incident's failing write (an UPDATE past the 32-bit column): its rollback cause and code.
INCIDENT_ROLLBACK = ("data_error", "1264")  # out of range value for column
# The error code of a write refused by innodb_lock_wait_timeout, and of a statement past
# max_statement_time (MariaDB) or max_execution_time (MySQL).
LOCK_TIMEOUT_CODE = "1205"
STATEMENT_TIMEOUT_CODES = frozenset({"1969", "3024"})
# A statement that takes `seconds` on the server, however few rows there are.
SLEEP_SQL = "SELECT SLEEP({seconds})"
# The deadlock test (test_deadlock.py): the code of a deadlock's victim; a query for the number
# of the database's transactions waiting for a lock, and the seconds between two of them; what
# the database shows when none came; and what the test's own transaction runs first. InnoDB
# finds the cycle at once and rolls back the transaction that changed fewer rows: the test's
# changes several, so the service's is the victim; its own wait is bounded.
DEADLOCK_CODE = "1213"
LOCK_WAITERS_SQL = (
    "SELECT count(*) FROM information_schema.innodb_trx AS trx"
    " JOIN information_schema.processlist AS process ON process.id = trx.trx_mysql_thread_id"
    " WHERE trx.trx_state = 'LOCK WAIT' AND process.db = DATABASE()"
)
# innodb_trx is a copy of InnoDB's transactions that the server refreshes only once nobody has
# read it for 0.1 s (trx0i_s.cc: CACHE_MIN_IDLE_TIME): polled faster, it is never refreshed and
# shows, for as long as the polling lasts, the transactions of the first read, from before the
# order began (the flake of the deadlock test under CPU load, when that read came first).
LOCK_WAITERS_INTERVAL = 0.2
# processlist and the status variable are read live; innodb_trx as the waiters were.
LOCK_DIAGNOSTICS_SQL = {
    "processlist": (
        "SELECT id, command, time_ms, state, info FROM information_schema.processlist"
        " WHERE db = DATABASE() AND id <> CONNECTION_ID()"
    ),
    "innodb_trx": (
        "SELECT trx.trx_mysql_thread_id, trx.trx_state, trx.trx_started, trx.trx_wait_started,"
        " trx.trx_rows_locked, trx.trx_query FROM information_schema.innodb_trx AS trx"
        " JOIN information_schema.processlist AS process ON process.id = trx.trx_mysql_thread_id"
        " WHERE process.db = DATABASE()"
    ),
    "row lock waits of the whole server": (
        "SHOW GLOBAL STATUS LIKE 'Innodb_row_lock_current_waits'"
    ),
}
DEADLOCK_SURVIVOR_SQL = ("SET SESSION innodb_lock_wait_timeout = 30",)
