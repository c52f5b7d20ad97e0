"""What the session layer reports: commits, rollbacks with their cause, and the pool's state.

Counting rules (exact, and tested):
- a commit is a unit of work whose `session.commit()` succeeded: the Session's `after_commit`
  event. Read-only units of work count too (they end with `commit()`, even when the dialect
  runs them in AUTOCOMMIT and no COMMIT reaches the server). Connections used outside the
  app's sessions (readiness probe, migrations, tests' own statements) never count.
- a rollback is a request that an exception ended after its transaction had really begun: the
  Session's `after_rollback` event fired (a DBAPI rollback happened: `get_session`'s, or
  SQLAlchemy's own after a failed COMMIT). A request refused before its first statement (422,
  capacity 503) rolls nothing back and counts nothing. The cause comes from the exception
  (errors.rollback_cause).
"""

import logging
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from .. import metrics
from ..errors import database_error_code, error_type, rollback_cause

logger = logging.getLogger(__name__)

# Session.info key: the session comes from the app's factory, and the app's metrics are on.
COUNTED = "observability.counted"
# ConnectionPoolEntry.record_info key: the entry has held a connection before.
CONNECTED_BEFORE = "observability.connected_before"


@dataclass
class UnitOfWorkOutcome:
    """Filled in by the session's events, read when the request's dependencies exit."""

    rolled_back: bool = False


# The outcome of the request's unit of work. A mutable object, so that what the session's events
# record in a worker thread (sync services) or SQLAlchemy's greenlet (async ones), each with a
# copy of the request's context, is seen by the request itself.
outcome_var: ContextVar[UnitOfWorkOutcome | None] = ContextVar("unit_of_work", default=None)


@event.listens_for(Session, "after_commit")
def _count_commit(session: Session) -> None:
    if session.info.get(COUNTED):
        metrics.DB_COMMITS.inc()


@event.listens_for(Session, "after_rollback")
def _note_rollback(_session: Session) -> None:
    outcome = outcome_var.get()
    if outcome is not None:
        outcome.rolled_back = True


def session_info(*, metrics_enabled: bool) -> dict[str, Any]:
    """`info` of the app's session factory."""
    return {COUNTED: metrics_enabled}


async def observe_unit_of_work(request: Request) -> AsyncIterator[None]:
    """A dependency of `get_session` that exits after it: when an exception ended the request,
    `get_session` has rolled back by then, and the rollback is logged and counted here, once.
    Never with the exception's message: drivers quote the statement's values in it."""
    outcome = UnitOfWorkOutcome()
    outcome_var.set(outcome)
    try:
        yield
    except Exception as error:
        if outcome.rolled_back:
            cause = rollback_cause(error)
            if request.app.state.settings.metrics_enabled:
                metrics.DB_ROLLBACKS.labels(cause).inc()
            logger.info(
                "rollback: %s",
                cause,
                extra={
                    "event.name": "db.rollback",
                    "db.rollback.cause": cause,
                    "error.type": error_type(error),
                    "db.response.status_code": database_error_code(error),
                },
            )
        raise


def observe_pool(engine: Engine, *, capacity: int) -> None:
    """Gauges and counters kept by pool events. Register after every other pool listener:
    a checkout listener that raises (replace_dead_connections) stops the ones after it, and the
    pool then retries the checkout, so only the successful attempt is counted."""
    metrics.DB_CONNECTIONS_MAX.inc(capacity)

    @event.listens_for(engine.pool, "checkout")
    def on_checkout(
        _dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        metrics.DB_CONNECTIONS_USED.inc()

    @event.listens_for(engine.pool, "checkin")
    def on_checkin(_dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        metrics.DB_CONNECTIONS_USED.dec()

    @event.listens_for(engine.pool, "invalidate")
    def on_invalidate(_dbapi_connection: Any, _record: ConnectionPoolEntry, _error: Any) -> None:
        metrics.DB_CONNECTIONS_INVALIDATED.inc()

    @event.listens_for(engine.pool, "connect")
    def on_connect(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        info = record.record_info  # lives as long as the pool entry, across reconnects
        if info is None:
            return
        if info.get(CONNECTED_BEFORE):
            metrics.DB_CONNECTIONS_REPLACED.inc()
        info[CONNECTED_BEFORE] = True


def forget_pool(*, capacity: int) -> None:
    """The pool is disposed: its connections leave the shared figures."""
    metrics.DB_CONNECTIONS_MAX.dec(capacity)
