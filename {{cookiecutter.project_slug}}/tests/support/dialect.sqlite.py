"""What the tests need to know of SQLite: a database of the test run's own is a new file, and
there is no server to hold connections."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .serving import StartPooler


@contextmanager
def created_database(directory: Path) -> Iterator[str]:
    """A new database file in `directory`; its URL."""
    yield f"{{ cookiecutter.__url_scheme }}:///{directory / 'test.db'}"


async def count_other_connections(_database_url: str) -> int | None:
    """None: SQLite has no server that could count connections."""
    return None


# No server, so no transaction pooler in front of one: every test opens the file itself.
POOLERS: dict[str, StartPooler] = {}
# SQLite's integers do not overflow: its incident is the quantity's CHECK constraint.
INCIDENT_ROLLBACK = ("integrity", "SQLITE_CONSTRAINT_CHECK")
# A write that waited past the busy timeout (lock_timeout) for another writer.
LOCK_TIMEOUT_CODE = "SQLITE_BUSY"
