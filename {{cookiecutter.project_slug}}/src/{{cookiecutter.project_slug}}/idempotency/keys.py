"""A request's idempotency key, as the unit of work stores it; http.py reads it from the
request."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestKey:
    owner: str
    key: str
    # "POST /orders": the method and the route's path template.
    operation: str
    fingerprint: str
    # Unix seconds when the request arrived, and the oldest time a stored key still counts.
    created_at: int
    not_before: int
