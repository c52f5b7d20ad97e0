"""A span per SQL statement, a child of the unit of work whose connection runs it.

OpenTelemetry's SQLAlchemy instrumentation makes the spans. It declares support for SQLAlchemy
below 2.1 only, and on 2.1 its `instrument()` logs a dependency conflict and instruments
nothing: `skip_dep_check=True` is deliberate, and tests/test_traces.py proves the spans appear
on the SQLAlchemy this service runs (an upgrade that breaks them fails there, not in
production). It is given the async engine's sync engine, where the events fire, once per
process: the instrumentor is a singleton, and `stop_tracing_statements` undoes it at shutdown.

The instrumentation parents a statement's span on the span current where the statement runs:
the unit of work's, which the database slot starts in the request's task (`capacity.py`), so
that it is current in the endpoint's worker thread of a sync service too (FastAPI copies the
task's context into it), and which `job_session` starts for a job.
"""

from collections.abc import Sequence

from opentelemetry.trace import Status, StatusCode, TracerProvider
from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext

# The ExecutionContext attribute where the instrumentation keeps a statement's span.
INSTRUMENTATION_SPAN = "_otel_span"


class TracingSetupError(RuntimeError):
    """The SQLAlchemy instrumentation instrumented nothing."""


def trace_statements(engines: Sequence[Engine], provider: TracerProvider) -> None:
    """Statement spans for `engines` (sync engines: `engine.sync_engine` of an async one)."""
    # Imported only when traces are on: it checks installed distributions as it loads, which
    # takes longer than importing the rest of the app.
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    for engine in engines:
        # Before the instrumentation's own handler, which would put the error's message in the
        # span: ours ends a failed statement's span first. (A dialect event: `insert=True` is
        # not honoured there, so ours is registered first.)
        event.listen(engine, "handle_error", end_failed_statement)
    tracers = SQLAlchemyInstrumentor().instrument(
        engines=list(engines), tracer_provider=provider, skip_dep_check=True
    )
    if not tracers:
        # The dependency check refused, or another part of this process instrumented first:
        # either way no statement of these engines would be traced. Say so at start-up.
        raise TracingSetupError("OpenTelemetry's SQLAlchemy instrumentation traced no engine")


def stop_tracing_statements() -> None:
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    # Removes the instrumentation's listeners from every engine it traced (ours stays on
    # engines that are disposed with it, and does nothing without a statement span).
    SQLAlchemyInstrumentor().uninstrument()


def end_failed_statement(failure: ExceptionContext) -> None:
    """End a failed statement's span with the error's class, never its message: drivers quote
    the statement's values in it (the duplicate key of a unique violation), and the
    instrumentation would put that message in the span's status."""
    execution = failure.execution_context
    if execution is None:
        return
    span = getattr(execution, INSTRUMENTATION_SPAN, None)
    if span is not None:
        setattr(execution, INSTRUMENTATION_SPAN, None)  # the instrumentation's handler skips it
        error = failure.original_exception
        error_type = f"{type(error).__module__}.{type(error).__qualname__}"
        span.set_attribute("error.type", error_type)
        span.set_status(Status(StatusCode.ERROR, error_type))
        span.end()
