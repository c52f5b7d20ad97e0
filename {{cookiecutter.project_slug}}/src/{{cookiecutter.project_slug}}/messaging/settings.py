"""The settings of the message broker, the outbox relay and the event worker."""

from pydantic import Field
from pydantic_settings import BaseSettings


class BrokerSettings(BaseSettings):
    # Where the relay publishes the outbox's events and the worker consumes them (AMQP 0-9-1).
    broker_url: str = "amqp://guest:guest@localhost:5672/"
    # The durable topic exchange the relay publishes to; an event's kind is its routing key.
    events_exchange: str = "{{ cookiecutter.project_slug }}.events"
    # The durable queue the worker consumes; its dead letters go to "<queue>.dead". Each
    # consumer of the events (each service that reacts to them) has a queue of its own.
    events_queue: str = "{{ cookiecutter.project_slug }}.worker"
    # Outbox rows a relay claims, publishes and marks sent per transaction.
    relay_batch_size: int = Field(default=100, ge=1, le=10000)
    # Seconds a relay waits before it looks for new rows, when it found none.
    relay_poll_interval: float = Field(default=1.0, gt=0)
    # Seconds a relay or a worker waits before it connects again to a broker that went away.
    broker_reconnect_interval: float = Field(default=2.0, gt=0)
    # Deliveries of an event whose handler fails before it is dead-lettered.
    worker_max_attempts: int = Field(default=5, ge=1)
    # Seconds sent outbox rows and the worker's inbox entries are kept before
    # `python -m ... purge-events` deletes them. An inbox entry must outlive every redelivery of
    # its event (a dead letter moved back included), or that redelivery has its effect again.
    event_retention: int = Field(default=604800, gt=0)
