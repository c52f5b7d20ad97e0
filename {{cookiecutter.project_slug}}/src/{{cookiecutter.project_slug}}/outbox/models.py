"""The outbox_events table: one row per event a unit of work recorded, committed (or rolled
back) with the unit of work's own changes, and marked sent once the broker confirmed it."""

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..database.base import Base

# A UUID in its 36-character text form: the AMQP message id the worker's inbox keys on.
EVENT_ID_LENGTH = 36
# "order.placed": the event's kind, its routing key on the exchange.
KIND_MAX_LENGTH = 100


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    # The relay's query: the oldest rows not yet sent.
    __table_args__ = (Index("ix_outbox_events_unsent", "sent_at", "id"),)

    # The order of recording: the relay publishes in it (per relay; see README).
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(EVENT_ID_LENGTH), unique=True)
    kind: Mapped[str] = mapped_column(String(KIND_MAX_LENGTH))
    # The event's JSON body, checked serialisable when it was recorded.
    payload: Mapped[str] = mapped_column(Text)
    # Unix times (seconds, UTC): recorded, and confirmed by the broker (None until then).
    created_at: Mapped[int] = mapped_column(BigInteger)
    sent_at: Mapped[int | None] = mapped_column(BigInteger)
