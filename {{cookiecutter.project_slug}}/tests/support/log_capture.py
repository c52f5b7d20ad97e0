"""The service's log lines, captured in the test's process as the service formats them."""

import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from {{ cookiecutter.project_slug }}.logs import JsonFormatter, configure_logging
from {{ cookiecutter.project_slug }}.settings import Settings


class Capture(logging.Handler):
    """Every log record of the process, formatted as the service formats it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    def rollbacks(self) -> list[dict[str, Any]]:
        return [entry for entry in self.entries() if entry.get("event.name") == "db.rollback"]


@contextmanager
def _attached() -> Iterator[Capture]:
    capture = Capture()
    logging.getLogger().addHandler(capture)
    try:
        yield capture
    finally:
        logging.getLogger().removeHandler(capture)


@asynccontextmanager
async def captured() -> AsyncIterator[Capture]:
    """The log records of the block, as the service formats them."""
    with _attached() as capture:
        yield capture


@contextmanager
def captured_at_debug() -> Iterator[Capture]:
    """Every record the service logs with LOG_LEVEL=DEBUG, and SQLAlchemy's statements as
    `echo=True` logs them (with their parameters, which hide_parameters must hide). The default
    configuration is back afterwards."""
    configure_logging(Settings(log_level="DEBUG"))
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    try:
        with _attached() as capture:
            yield capture
    finally:
        configure_logging(Settings())
