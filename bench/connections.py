"""The database connections that the app under test opens, counted on the server's side."""

import threading
import time
from typing import Any

import psycopg
import pymysql
from sqlalchemy.engine import make_url

from tests.variants import Variant


class ConnectionCounter:
    """Counts the connections the app opens to `database` between start() and stop()."""

    def __init__(self, variant: Variant, url: str) -> None:
        self.kind = variant.database
        self.name = make_url(url).database
        self.seen: set[Any] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._before = 0

    def _connect(self) -> Any:
        if self.kind == "postgres":
            return psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True)
        return pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)

    def _sessions(self, connection: Any) -> int:
        row = connection.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", (self.name,)
        ).fetchone()
        return int(row[0])

    def start(self) -> None:
        if self.kind == "sqlite":
            return
        self.seen.clear()
        self._stop.clear()
        self._monitor = self._connect()
        if self.kind == "postgres":
            self._wait_for_earlier_backends()
            self._before = self._sessions(self._monitor)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _wait_for_earlier_backends(self, limit: float = 3.0) -> None:
        """A backend counts its session when it exits: the previous server's backends must be
        gone before the count starts, or they count for this run. (Behind PgBouncer they
        stay; the wait is bounded.)"""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            row = self._monitor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.name,)
            ).fetchone()
            if row[0] == 0:
                return
            time.sleep(0.05)

    def _sample(self) -> None:
        while not self._stop.is_set():
            if self.kind == "postgres":
                rows = self._monitor.execute(
                    "SELECT pid, backend_start FROM pg_stat_activity WHERE datname = %s",
                    (self.name,),
                ).fetchall()
            else:
                with self._monitor.cursor() as cursor:
                    cursor.execute(
                        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s", (self.name,)
                    )
                    rows = cursor.fetchall()
            self.seen.update(tuple(row) for row in rows)
            self._stop.wait(0.02)

    def stop(self) -> int | None:
        """Call after the server has exited: PostgreSQL counts a session when it ends too."""
        if self.kind == "sqlite" or self._thread is None:
            return None
        self._stop.set()
        self._thread.join()
        if self.kind == "postgres":
            # Backends report their session when they exit, sometimes a while after they are
            # gone: wait until every connection seen is counted, or the next run's count would
            # take them (bounded, for a count that stays short).
            deadline = time.monotonic() + 5
            count = self._sessions(self._monitor) - self._before
            while count < len(self.seen) and time.monotonic() < deadline:
                time.sleep(0.1)
                count = self._sessions(self._monitor) - self._before
            count = max(count, len(self.seen))
        else:
            count = len(self.seen)
        self._monitor.close()
        return count
