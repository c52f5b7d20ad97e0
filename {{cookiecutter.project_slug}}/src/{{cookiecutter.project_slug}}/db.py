"""The one home of the engine, the session factory and the per-request session.

The team's session convention, enforced here:

- one AsyncSession per request, from `get_session`; never a module-level session, never
  `scoped_session`, so a failed transaction can never leak into another request;
- `get_session` rolls back on any exception (an HTTPException included) and always closes;
- it never commits: the unit of work (`services.py`) commits before the response is built,
  because code after `yield` runs after the client already has its answer;
- a request gets its session only after a database slot (`capacity.py`), so no more requests
  hold sessions than the pool has connections.
"""

{% if cookiecutter.database != "sqlite" -%}
import time
{% endif -%}
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
{%- if cookiecutter.database != "sqlite" %}
from sqlalchemy import Engine, event, exc
{%- endif %}
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
{%- if cookiecutter.database != "sqlite" %}
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
{%- endif %}

from .capacity import database_slot
{%- if cookiecutter.database != "sqlite" %}
from .liveness import closed_by_server
{%- endif %}
from .settings import Settings
{%- if cookiecutter.database == "sqlite" %}
from .sqlite_setup import READ_ONLY_OPTION, configure_sqlite
{%- endif %}

{%- if cookiecutter.database == "postgres" %}

# Read-only units of work run without BEGIN and COMMIT: under PostgreSQL's READ COMMITTED every
# statement takes its own snapshot anyway, so the transaction would only add two round trips.
READ_ONLY_EXECUTION_OPTIONS: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"}
{%- elif cookiecutter.database == "sqlite" %}

# Read-only units of work start with a deferred BEGIN (a shared lock, WAL snapshot) instead of
# BEGIN IMMEDIATE, so reads never queue behind a writer's lock.
READ_ONLY_EXECUTION_OPTIONS: dict[str, Any] = {READ_ONLY_OPTION: True}
{%- else %}

# Read-only units of work keep their transaction: under MySQL's REPEATABLE READ it gives all their
# statements one snapshot, and switching to autocommit would cost a SET round trip each way.
READ_ONLY_EXECUTION_OPTIONS: dict[str, Any] = {}
{%- endif %}
{%- if cookiecutter.database != "sqlite" %}
# Key of the pool's per-connection info: when the connection was last returned to the pool.
RETURNED_AT = "returned_at"
{%- endif %}


def create_engine_from_settings(settings: Settings) -> AsyncEngine:
    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout,
        pool_recycle=settings.pool_recycle,
        echo=settings.echo,
    )
{%- if cookiecutter.database == "sqlite" %}
    configure_sqlite(engine.sync_engine)
{%- else %}
    replace_dead_connections(engine.sync_engine, ping_after_idle=settings.pool_ping_after_idle)
{%- endif %}
    return engine
{%- if cookiecutter.database != "sqlite" %}


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
{%- endif %}


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # The unit of work commits before the response is built; expire_on_commit=False lets the
    # response read the committed objects without another round trip to the database.
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(
    request: Request,
    _slot: Annotated[None, Depends(database_slot)],
) -> AsyncIterator[AsyncSession]:
    session_factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    async with session_factory() as session:
        try:
            yield session
        except Exception:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def begin_read_only(session: AsyncSession) -> None:
    """Start a unit of work that never writes, in the cheapest mode that is safe for it
    (READ_ONLY_EXECUTION_OPTIONS). Call it before the unit of work's first statement."""
    await session.connection(execution_options=READ_ONLY_EXECUTION_OPTIONS)
