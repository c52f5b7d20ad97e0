"""Dead connections are replaced before a request uses them, without a round trip per checkout."""

import time
from typing import Any

from sqlalchemy import Engine, event, exc
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from .driver import closed_by_server

# Key of the pool's per-connection info: when the connection was last returned to the pool.
RETURNED_AT = "returned_at"


def replace_dead_connections(engine: Engine, *, ping_after_idle: float) -> None:
    """Check every pooled connection on checkout; a dead one is replaced before a request uses it.

    SQLAlchemy's pool_pre_ping checks with a round trip on every checkout, a large share of a
    busy service's time. Here a connection the server closed (restart, kill, idle timeout) is
    recognised without one: the driver has already seen the end of the stream. Only a connection
    idle for more than `ping_after_idle` seconds is pinged as well, in case it died without a
    word (a dropped network path, a failover). Raising DisconnectionError makes the pool discard
    the connection and check out another.
    """

    @event.listens_for(engine.pool, "checkin")
    def on_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def on_checkout(
        dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        if closed_by_server(record.driver_connection):
            raise exc.DisconnectionError("The database server closed this connection.")
        # A new connection has no RETURNED_AT: it has just proved itself by connecting.
        returned_at = record.info.get(RETURNED_AT)
        if returned_at is not None and time.monotonic() - returned_at > ping_after_idle:
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as error:
                raise exc.DisconnectionError("An idle connection did not answer.") from error
