"""What a test's own exchange and queues on the machine's RabbitMQ are called, and a message as
a test receives it: the same in every mode (support/amqp.py talks to the broker)."""

import uuid
from dataclasses import dataclass
from typing import Any

BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass(frozen=True)
class Received:
    message_id: str | None
    kind: str | None
    headers: dict[str, Any]
    body: bytes


def broker_names() -> dict[str, str]:
    """Settings naming an exchange and queues of the test's own."""
    run = uuid.uuid4().hex[:12]
    return {
        "broker_url": BROKER_URL,
        "events_exchange": f"test-{run}.events",
        "events_queue": f"test-{run}.worker",
    }
