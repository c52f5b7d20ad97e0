"""What crosses the broker: an event as the relay publishes it and the worker receives it."""

import json
from dataclasses import dataclass
from typing import Any

# The header that counts a message's deliveries to the worker's handler (1 on the first).
ATTEMPT_HEADER = "x-attempt"
CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class Message:
    """An event on the wire: its id (the AMQP message id, unique per event), its kind (the
    routing key, e.g. "order.placed") and its JSON body."""

    id: str
    kind: str
    body: bytes


def dead_letter_name(name: str) -> str:
    """The exchange or queue where the dead letters of `name` go."""
    return f"{name}.dead"


class MalformedEventError(ValueError):
    """A message the worker cannot read as an event (no id, not JSON, a payload its handler
    does not accept): dead-lettered at once, since no retry can mend it."""


@dataclass(frozen=True)
class Event:
    """An event as a handler receives it."""

    id: str
    kind: str
    payload: dict[str, Any]


def read_event(message_id: str | None, kind: str | None, body: bytes) -> Event:
    """The event a delivery carries, or MalformedEventError."""
    if not message_id or not kind:
        raise MalformedEventError("a message without a message id or a type")
    try:
        payload = json.loads(body)
    except ValueError as error:
        raise MalformedEventError(f"a {kind!r} message whose body is not JSON") from error
    if not isinstance(payload, dict):
        raise MalformedEventError(f"a {kind!r} message whose body is not a JSON object")
    return Event(message_id, kind, payload)
