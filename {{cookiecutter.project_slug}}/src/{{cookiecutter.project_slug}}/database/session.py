"""The one home of the engine, the session factory and the per-request session.

The team's session convention, enforced here:

- one AsyncSession per request, from `get_session`; never a module-level session, never
  `scoped_session`, so a failed transaction can never leak into another request;
- `get_session` rolls back on any exception (an HTTPException included), logs and counts that
  rollback with its cause (`observability.report_rollback`), and always closes;
- units of work outside requests (commands, jobs) take theirs from `job_session`, under the
  same rules;
- it never commits: the unit of work (each resource's `services.py`) commits before the
  response is built, because code after `yield` runs after the client already has its answer;
- a request gets its session only after a database slot (`capacity.py`), so no more requests
  hold sessions than the pool has connections;
- with traces on, each session is one "unit of work" span with its outcome (`observability.py`),
  the parent of its statements' spans (`tracing.py`).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from opentelemetry.trace import Tracer, TracerProvider
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from ..request_context import job_var
from .capacity import database_slot
from .dialect import (
    DialectSettings,
    configure_engine,
    engine_options,
    read_only_execution_options,
)
from .observability import (
    adopt_unit_of_work,
    end_job_unit_of_work,
    observe_pool,
    report_rollback,
    session_info,
    start_job_unit_of_work,
)
from .tracing import trace_statements

# Key of the session factory's info: the execution options of read-only units of work.
READ_ONLY_OPTIONS = "read_only_execution_options"


def create_engine_from_settings(
    settings: DialectSettings,
    *,
    metrics_enabled: bool,
    tracer_provider: TracerProvider | None = None,
) -> AsyncEngine:
    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout,
        pool_recycle=settings.pool_recycle,
        echo=settings.echo,
        # Errors and logs never show a statement's parameters: they are the clients' data.
        hide_parameters=True,
        **engine_options(settings),
    )
    configure_engine(engine.sync_engine, settings)
    if metrics_enabled:
        # After the dialect's pool listeners, as observe_pool requires.
        observe_pool(engine.sync_engine, capacity=settings.pool_capacity)
    if tracer_provider is not None:
        trace_statements([engine.sync_engine], tracer_provider)
    return engine


def create_probe_engine(settings: DialectSettings) -> AsyncEngine:
    """The readiness probe's own engine, apart from the pool that serves requests: a busy pool
    never makes a healthy instance look unready, and the probe never takes a connection from
    real traffic. Without a pool (NullPool): each probe opens a connection and closes it, so
    the probe proves that a new connection can be made, and keeps none open between probes."""
    return create_async_engine(
        settings.database_url,
        poolclass=NullPool,
        hide_parameters=True,
        **engine_options(settings),
    )


def create_session_factory(
    engine: AsyncEngine,
    settings: DialectSettings,
    *,
    metrics_enabled: bool,
    client_errors: tuple[type[BaseException], ...],
    tracer: Tracer | None = None,
) -> async_sessionmaker[AsyncSession]:
    """`client_errors`: the exceptions that are the client's refusals (HTTP errors, validation
    and domain errors): a rollback they cause is counted as "client_error", not as a failure."""
    # The unit of work commits before the response is built; expire_on_commit=False lets the
    # response read the committed objects without another round trip to the database.
    read_only: dict[str, Any] = read_only_execution_options(settings)
    observed = session_info(
        metrics_enabled=metrics_enabled, client_errors=client_errors, tracer=tracer
    )
    info = {READ_ONLY_OPTIONS: read_only, **observed}
    return async_sessionmaker(engine, expire_on_commit=False, info=info)


async def get_session(
    request: Request,
    _slot: Annotated[None, Depends(database_slot)],
) -> AsyncIterator[AsyncSession]:
    session_factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    async with session_factory() as session:
        adopt_unit_of_work(session.info)
        try:
            yield session
        except Exception as error:
            await session.rollback()
            report_rollback(session.info, error)
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session)]


@asynccontextmanager
async def job_session(
    session_factory: async_sessionmaker[AsyncSession],
    job: str,
) -> AsyncIterator[AsyncSession]:
    """The session of one unit of work outside a request (a command, a scheduled job), under
    the same rules as `get_session`: rolled back, logged and counted on any exception, always
    closed, never committed here (the unit of work in `services.py` commits). Log lines meanwhile
    carry `job.name` instead of a request id. Use one per unit of work:

        async with job_session(session_factory, "purge-idempotency-keys") as session:
            deleted = await services.purge_expired(session, before=cutoff, limit=1000)
    """
    token = job_var.set(job)
    unit = None
    try:
        async with session_factory() as session:
            unit = start_job_unit_of_work(session.info, job)
            try:
                yield session
            except Exception as error:
                await session.rollback()
                report_rollback(session.info, error)
                raise
    finally:
        if unit is not None:
            end_job_unit_of_work(unit)
        job_var.reset(token)


async def begin_read_only(session: AsyncSession) -> None:
    """Start a unit of work that never writes, in the cheapest mode that is safe for it
    (the dialect's `read_only_execution_options`). Call it before the unit of work's first
    statement."""
    await session.connection(execution_options=session.info[READ_ONLY_OPTIONS])
