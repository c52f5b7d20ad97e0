"""JSON log lines: one object per line, standard `logging` underneath.

A small formatter of our own rather than a library: it is 50 lines, the service then depends
on nothing more, and it owns the one rule a library would not enforce for us: an exception
from the database driver is logged by its class and error code, never by its message (drivers
quote the offending values in their messages, e.g. the duplicate key of a unique violation).
Field names: ECS for the envelope (`@timestamp`, `log.level`, `log.logger`), OpenTelemetry
semantic conventions for the rest (`http.route`, `error.type`, `db.response.status_code`).
"""

import datetime
import json
import logging
import logging.config
import traceback
from typing import Any

from opentelemetry import trace
from sqlalchemy.exc import StatementError

from .request_context import caller_var, event_var, job_var, request_id_var
from .settings import Settings

# Attributes every LogRecord has; anything else on a record came from `extra=`.
RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured duplicate of the message
    "taskName",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "@timestamp": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "log.level": record.levelname.lower(),
            "log.logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        job = job_var.get()
        if job is not None:
            entry["job.name"] = job
        event_id = event_var.get()
        if event_id is not None:
            entry["event.id"] = event_id
        caller = caller_var.get()
        if caller is not None:
            # Who the token speaks for, never the token: it is a credential.
            entry["user.id"], entry["oauth.client_id"] = caller
        # The trace and span the line was written in (traces on), as hex, as trace stores
        # show them: the line and its request's trace find each other.
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace.id"] = trace.format_trace_id(span_context.trace_id)
            entry["span.id"] = trace.format_span_id(span_context.span_id)
        for key, value in vars(record).items():
            if key not in RECORD_ATTRIBUTES and value is not None:
                entry[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            entry["error.type"] = f"{type(error).__module__}.{type(error).__qualname__}"
            if not isinstance(error, StatementError):
                entry["error.message"] = str(error)
            # Frames only: the source lines of the stack, never the messages of the chain.
            entry["error.stack_trace"] = "".join(traceback.format_tb(error.__traceback__))
        return json.dumps(entry, default=str, ensure_ascii=False, separators=(",", ":"))


def logging_config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the service and uvicorn: JSON lines on stdout.

    uvicorn's access log is off: the service logs one line per request itself, with the route
    template and request id (uvicorn's line has the raw path and query string instead).
    """
    formatter: dict[str, Any] = (
        {"()": f"{__package__}.logs.JsonFormatter"}
        if settings.log_format == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stdout",
            }
        },
        "root": {"handlers": ["stdout"], "level": settings.log_level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True, "level": settings.log_level},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": settings.log_level},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            # Loggers that write statement parameters or result rows below WARNING, whatever
            # log_level says: SQLAlchemy's DEBUG logs result rows (`echo=True` still logs
            # statements, with parameters hidden), and a driver's DEBUG may log every call
            # with its parameters.
            "sqlalchemy": {"level": "WARNING"},
            "{{ cookiecutter.__driver_logger }}": {"level": "WARNING"},
        },
    }


def configure_logging(settings: Settings) -> None:
    logging.config.dictConfig(logging_config(settings))
    # Neither format prints the caller's file and line, thread or process, so every record is
    # spared collecting them (the logging HOWTO's "Optimization"): a line per request adds up.
    logging._srcfile = None  # no stack walk to find the caller
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


if __name__ == "__main__":
    # `python -m <package>.logs > logging.json`, then `uvicorn --log-config logging.json ...`
    print(json.dumps(logging_config(Settings()), indent=2))
