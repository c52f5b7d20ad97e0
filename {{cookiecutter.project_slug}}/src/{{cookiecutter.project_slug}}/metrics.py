"""Prometheus metrics, served at /metrics (setting `metrics_enabled`).

Names follow OpenTelemetry's semantic conventions as its Prometheus exporter writes them
(`db.client.connection.count` -> `db_client_connection_count`), with Prometheus suffixes
(`_total`, `_seconds`). Every gauge is kept up to date by events (inc/dec) rather than read by a
callback at scrape time: callback gauges are not shared between processes, and with several
workers (PROMETHEUS_MULTIPROC_DIR set) each worker writes its figures to files that any
worker's /metrics sums.

The metric objects are process-wide, like the registry they live in; each app registers only
its listeners.
"""

import os

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

# OpenTelemetry's default buckets for http.server.request.duration, in seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
ROLLBACK_CAUSES = (
    "client_error",
    "integrity",
    "data_error",
    "timeout",
    "deadlock",
    "stale",
    "lost_connection",
    "other",
)

HTTP_SERVER_REQUEST_DURATION = Histogram(
    "http_server_request_duration_seconds",
    "Duration of HTTP requests; its _count is the number of requests.",
    ["http_request_method", "http_route", "http_response_status_code"],
    buckets=DURATION_BUCKETS,
)
DB_CONNECTIONS_USED = Gauge(
    "db_client_connection_count",
    "Database connections checked out of the pool.",
    ["state"],
    multiprocess_mode="livesum",
).labels("used")
DB_CONNECTIONS_MAX = Gauge(
    "db_client_connection_max",
    "Most connections the pool opens (pool_size + max_overflow).",
    multiprocess_mode="livesum",
)
DB_PENDING_REQUESTS = Gauge(
    "db_client_connection_pending_requests",
    "Requests waiting for a database slot (database/capacity.py).",
    multiprocess_mode="livesum",
)
DB_WAIT_TIME = Histogram(
    "db_client_connection_wait_time_seconds",
    "Time requests waited for a database slot (0 for those admitted at once).",
    buckets=DURATION_BUCKETS,
)
DB_TIMEOUTS = Counter(
    "db_client_connection_timeouts",
    "Requests answered 503 because no database slot became free within capacity_timeout.",
)
DB_CONNECTIONS_INVALIDATED = Counter(
    "db_client_connections_invalidated",
    "Pooled connections found dead or broken and discarded.",
)
DB_CONNECTIONS_REPLACED = Counter(
    "db_client_connections_replaced",
    "Pooled connections reopened after being invalidated or recycled.",
)
DB_COMMITS = Counter(
    "db_client_commits",
    "Units of work that committed (read-only ones included).",
)
DB_ROLLBACKS = Counter(
    "db_client_rollbacks",
    "Units of work rolled back, by cause.",
    ["cause"],
)
for _cause in ROLLBACK_CAUSES:
    DB_ROLLBACKS.labels(_cause)  # every cause is exported from the start, at 0

# Why requests were refused before any work (auth/errors.py's reasons).
AUTH_REJECTION_REASONS = ("missing", "malformed", "invalid", "expired", "scope", "unavailable")
AUTH_REJECTED_REQUESTS = Counter(
    "auth_rejected_requests",
    "Requests refused for their credentials, by reason.",
    ["reason"],
)
for _reason in AUTH_REJECTION_REASONS:
    AUTH_REJECTED_REQUESTS.labels(_reason)
AUTH_DISABLED = Gauge(
    "auth_disabled",
    "1 while the service runs with AUTH_DISABLED=true: every request as the local principal.",
    multiprocess_mode="max",
)

# The outbox's relay and the event worker (their own processes: `--metrics-port`).
EVENTS_RELAYED = Counter(
    "events_relayed",
    "Outbox events the broker confirmed and the relay marked sent.",
)
EVENTS_HANDLED = Counter(
    "events_handled",
    "Deliveries the event worker settled, by event kind and outcome (duplicate: the inbox had "
    "the event already; requeued: the database was away).",
    ["kind", "outcome"],
)

router = APIRouter(include_in_schema=False)


def multiprocess_mode() -> bool:
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ


@router.get("/metrics")
async def metrics() -> Response:
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def mark_process_dead() -> None:
    """Drop this worker's live gauges from the shared figures (call on shutdown)."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
