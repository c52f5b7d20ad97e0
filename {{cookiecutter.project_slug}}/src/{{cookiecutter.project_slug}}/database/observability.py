"""What the session layer reports: commits, rollbacks with their cause, and the pool's state;
and, when traces are on, a span per unit of work with its outcome.

Counting rules (exact, and tested):
- a commit is a unit of work whose `session.commit()` succeeded: the Session's `after_commit`
  event. Read-only units of work count too (they end with `commit()`, even when the dialect
  runs them in AUTOCOMMIT and no COMMIT reaches the server). Connections used outside the
  app's sessions (readiness probe, migrations, tests' own statements) never count.
- a rollback is a request that an exception ended after its transaction had really begun: the
  Session's `after_rollback` event fired (a DBAPI rollback happened: `get_session`'s, or
  SQLAlchemy's own after a failed COMMIT). A request refused before its first statement (422,
  capacity 503) rolls nothing back and counts nothing. The cause comes from the exception: its
  database failure (errors.failure_of), or "client_error" for the refusals the app names
  (`session_info`'s client_errors: HTTP exceptions, validation and domain errors).
"""

import logging
from contextvars import Token
from typing import Any

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, Status, StatusCode, Tracer
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from .. import metrics
from .errors import failure_of
from .failures import Failure

logger = logging.getLogger(__name__)

# Session.info keys: the session comes from the app's factory, and the app's metrics are on;
# the exception classes that are the client's refusals, not failures; a real rollback happened
# in the session (reset when it is reported).
COUNTED = "observability.counted"
CLIENT_ERRORS = "observability.client_errors"
ROLLED_BACK = "observability.rolled_back"
# Session.info keys, traces on: the tracer of the units of work's spans, and the span of this
# session's unit of work.
TRACER = "observability.tracer"
SPAN = "observability.span"
UNIT_OF_WORK = "unit of work"
# The unit of work span's attribute that says how it ended: "committed", "rolled_back", or
# "none" (no transaction was begun, or none was committed or rolled back).
OUTCOME = "db.unit_of_work.outcome"
# The rollback metric's cause (metrics.ROLLBACK_CAUSES) of each database failure.
ROLLBACK_CAUSE = {
    Failure.CONFLICT: "integrity",
    Failure.INVALID: "data_error",
    Failure.TIMEOUT: "timeout",
    Failure.POOL_EXHAUSTED: "timeout",
    Failure.DEADLOCK: "deadlock",
    Failure.STALE: "stale",
    Failure.LOST_CONNECTION: "lost_connection",
    Failure.UNAVAILABLE: "other",
    Failure.INTERNAL: "other",
}
# ConnectionPoolEntry.record_info key: the entry has held a connection before.
CONNECTED_BEFORE = "observability.connected_before"


@event.listens_for(Session, "after_commit")
def _count_commit(session: Session) -> None:
    info = session.info
    if info.get(COUNTED):
        metrics.DB_COMMITS.inc()
    span = info.get(SPAN)
    if span is not None:
        span.set_attribute(OUTCOME, "committed")


# Fired in whichever thread or greenlet rolled back; the flag travels with the session itself,
# so the request that ends the session reads it, in async and sync services alike.
@event.listens_for(Session, "after_rollback")
def _note_rollback(session: Session) -> None:
    session.info[ROLLED_BACK] = True


def session_info(
    *,
    metrics_enabled: bool,
    client_errors: tuple[type[BaseException], ...],
    tracer: Tracer | None = None,
) -> dict[str, Any]:
    """`info` of the app's session factory (each session gets its own copy)."""
    return {COUNTED: metrics_enabled, CLIENT_ERRORS: client_errors, TRACER: tracer}


def adopt_unit_of_work(info: dict[Any, Any]) -> None:
    """Keep, in the session's `info`, the span of the request's unit of work, which its database
    slot started and made current (`capacity.py`): the commit and the rollback say there how
    it ended. Nothing when traces are off."""
    if info.get(TRACER) is not None:
        span = trace.get_current_span()
        span.set_attribute(OUTCOME, "none")  # until a commit or a rollback says otherwise
        info[SPAN] = span


# A job's unit of work: its span, and the token that made it current.
JobUnitOfWork = tuple[Span, Token[Context]]


def start_job_unit_of_work(info: dict[Any, Any], job: str) -> JobUnitOfWork | None:
    """The span of a job's unit of work, current until `end_job_unit_of_work` (its statements
    are its children); None when traces are off."""
    tracer: Tracer | None = info.get(TRACER)
    if tracer is None:
        return None
    span = tracer.start_span(UNIT_OF_WORK, attributes={"job.name": job, OUTCOME: "none"})
    info[SPAN] = span
    return span, context.attach(trace.set_span_in_context(span))


def end_job_unit_of_work(unit: JobUnitOfWork) -> None:
    span, token = unit
    context.detach(token)
    span.end()


def error_type(error: BaseException) -> str:
    return f"{type(error).__module__}.{type(error).__qualname__}"


def report_rollback(info: dict[Any, Any], error: Exception) -> None:
    """Log and count, once, the rollback of a unit of work that `error` ended: `get_session`
    calls it with the session's `info` after rolling back. Nothing when no transaction had
    begun (a request refused before its first statement). Never with the exception's message:
    drivers quote the statement's values in it."""
    if not info.pop(ROLLED_BACK, False):
        return
    failure = failure_of(error)
    if failure is not None:
        cause = ROLLBACK_CAUSE[failure.kind]
    elif isinstance(error, info[CLIENT_ERRORS]):
        cause = "client_error"
    else:
        cause = "other"
    if info.get(COUNTED):
        metrics.DB_ROLLBACKS.labels(cause).inc()
    span: Span | None = info.get(SPAN)
    if span is not None:
        span.set_attributes(
            {OUTCOME: "rolled_back", "db.rollback.cause": cause, "error.type": error_type(error)}
        )
        if cause != "client_error":  # the client's refusal is no failure of the service's
            span.set_status(Status(StatusCode.ERROR, cause))
    logger.info(
        "rollback: %s",
        cause,
        extra={
            "event.name": "db.rollback",
            "db.rollback.cause": cause,
            "error.type": error_type(error),
            "db.response.status_code": failure.code if failure is not None else None,
        },
    )


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
