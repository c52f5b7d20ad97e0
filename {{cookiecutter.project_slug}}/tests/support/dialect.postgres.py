"""What the tests need to know of PostgreSQL: how a database of the test run's own is made and
dropped, how the server closes the service's connections, and the pooler it can run behind."""

from contextlib import AbstractContextManager
from pathlib import Path

from .database_server import created_database as created_server_database
from .database_server import execute_on_server, server_url
from .pgbouncer import PgBouncer, running_pgbouncer
from .serving import StartPooler


def created_database(_directory: Path) -> AbstractContextManager[str]:
    # FORCE: a connection a test left behind must not keep the database alive.
    return created_server_database("CREATE DATABASE {name}", "DROP DATABASE {name} WITH (FORCE)")


async def kill_other_connections(database_url: str) -> int:
    """Terminate every other connection to the database; return once the server has closed
    them (the timeout makes pg_terminate_backend wait for that)."""
    rows = await execute_on_server(
        database_url,
        "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    return len(rows)


async def count_other_connections(database_url: str) -> int | None:
    """The server's connections to the database, the asking one left out."""
    rows = await execute_on_server(
        database_url,
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    return int(rows[0][0])


def pgbouncer_in_front() -> AbstractContextManager[PgBouncer]:
    """PgBouncer in transaction pool mode, in front of the test server."""
    return running_pgbouncer(server_url())


# The transaction poolers the service can run behind (DATABASE_POOLER): the tests marked
# `through_poolers` run once more behind each (conftest.py).
POOLERS: dict[str, StartPooler] = {"pgbouncer": pgbouncer_in_front}
# The incident's failing write (an UPDATE past the 32-bit column): its rollback cause and code.
INCIDENT_ROLLBACK = ("data_error", "22003")  # integer out of range
# The error code of a write refused by lock_timeout, and of a statement past statement_timeout.
LOCK_TIMEOUT_CODE = "55P03"
STATEMENT_TIMEOUT_CODES = frozenset({"57014"})
# A statement that takes `seconds` on the server, however few rows there are.
SLEEP_SQL = "SELECT pg_sleep({seconds})"
# The deadlock test (test_deadlock.py): the code of a deadlock's victim; a query for the number
# of the database's transactions waiting for a lock, and the seconds between two of them; what
# the database shows when none came; and what the test's own transaction runs first so that the
# service's is the victim. The waiter whose deadlock_timeout (1 s by default)
# expires first finds the cycle and is rolled back, so the test's waits far longer (a superuser
# setting); its own wait is bounded by lock_timeout.
DEADLOCK_CODE = "40P01"
LOCK_WAITERS_SQL = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)
# pg_stat_activity is read afresh by every transaction: the test may ask as often as it likes.
LOCK_WAITERS_INTERVAL = 0.01
LOCK_DIAGNOSTICS_SQL = {
    "pg_stat_activity": (
        "SELECT pid, state, wait_event_type, wait_event, now() - query_start AS running, query"
        " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    ),
    "pg_locks not granted": (
        "SELECT pid, locktype, relation::regclass::text, mode FROM pg_locks WHERE NOT granted"
    ),
}
DEADLOCK_SURVIVOR_SQL = ("SET LOCAL deadlock_timeout = '60s'", "SET LOCAL lock_timeout = '30s'")
