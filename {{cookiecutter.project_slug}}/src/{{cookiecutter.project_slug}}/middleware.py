"""The HTTP middleware: the request id, one log line per request and the HTTP metrics.

A pure ASGI middleware (not BaseHTTPMiddleware: no extra task, no body streaming through
anyio memory streams), outside FastAPI's exception handlers, so every response it sees,
404/422/503 included, gets the `X-Request-ID` header. Unhandled errors (500) are answered by
Starlette's ServerErrorMiddleware, outside every user middleware: `errors.py` adds the header
there from `request_id_var`, which is deliberately left set when the app raises.
"""

import logging
import re
import time
import uuid

from opentelemetry import trace
from opentelemetry.trace import Span
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics
from .request_context import caller_var, request_id_var

REQUEST_ID_HEADER = b"x-request-id"
# Taken from the client when it is a sane token: what common generators produce (UUIDs with or
# without dashes, ULIDs, AWS/GCP trace ids, base64url), bounded so it cannot bloat log lines.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# HTTP methods kept as metric labels; anything else is "_OTHER" (OpenTelemetry's convention),
# so a client cannot create series at will.
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
)

logger = logging.getLogger(__name__)


def incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            try:
                text = value.decode("ascii")
            except UnicodeDecodeError:
                return None
            return text if REQUEST_ID_PATTERN.fullmatch(text) else None
    return None


def route_template(scope: Scope) -> str:
    """The matched route's path template ("/items/{item_id}"), or "" when none matched."""
    route = scope.get("route")
    # Without its convertors ("/items/{item_id:int}" is "/items/{item_id}"), as in OpenAPI.
    path = getattr(route, "path_format", None)
    return path if isinstance(path, str) else ""


def annotate_caller(span: Span) -> None:
    """Who called, as the log lines say it: the token's `sub` and its client, never the token."""
    caller = caller_var.get()
    if caller is not None:
        sub, client_id = caller
        span.set_attribute("user.id", sub)
        if client_id is not None:
            span.set_attribute("oauth.client_id", client_id)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, metrics_enabled: bool = True, traced: bool = False) -> None:
        self.app = app
        self.metrics_enabled = metrics_enabled
        # Traces on: the request id and the caller go on the request's server span, which is
        # current here (the instrumentation's middleware is outside every other).
        self.traced = traced
        # The histogram of each (method, route, status): `labels()` validates and locks on every
        # call, and the set of keys is small and bounded (known methods, routes, statuses).
        self.durations: dict[tuple[str, str, int], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        # The request's server span, current here; None when traces are off.
        span: Span | None = trace.get_current_span() if self.traced else None
        if span is not None:
            span.set_attribute("request_id", request_id)
        # Set by the auth dependency once the token is verified; until then nobody is known.
        caller_token = caller_var.set(None)
        header = (REQUEST_ID_HEADER, request_id.encode("ascii"))
        started = time.perf_counter()
        status_code = 0
        finished: float | None = None

        async def send_with_request_id(message: Message) -> None:
            nonlocal status_code, finished
            if message["type"] == "http.response.start":
                status_code = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
                if span is not None:
                    # Before the last byte, after which the server span is ended.
                    annotate_caller(span)
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = time.perf_counter()
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except BaseException:
            # ServerErrorMiddleware answers 500 (when nothing was sent yet) after we return.
            self.record(scope, status_code or 500, time.perf_counter() - started)
            if span is not None and not status_code:
                annotate_caller(span)
            raise
        # The latency the client saw: up to the last byte, not the dependency clean-up after it.
        self.record(scope, status_code, (finished or time.perf_counter()) - started)
        caller_var.reset(caller_token)
        request_id_var.reset(token)

    def record(self, scope: Scope, status_code: int, duration: float) -> None:
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "_OTHER"
        route = route_template(scope)
        if self.metrics_enabled:
            key = (method, route, status_code)
            histogram = self.durations.get(key)
            if histogram is None:
                histogram = metrics.HTTP_SERVER_REQUEST_DURATION.labels(
                    method, route, str(status_code)
                )
                self.durations[key] = histogram
            histogram.observe(duration)
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "%s %s %d",
                method,
                route or "(no route)",
                status_code,
                extra={
                    "http.request.method": method,
                    "http.route": route or None,
                    "http.response.status_code": status_code,
                    "http.server.request.duration": round(duration, 6),
                },
            )
