"""The inbox_events table: the events a consumer has handled, written in the handler's own
transaction, so that a redelivered event (at-least-once delivery) has its effect once."""

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database.base import Base
from ..outbox.models import EVENT_ID_LENGTH

# The consumer's queue name (EVENTS_QUEUE): each consumer handles each event once.
CONSUMER_MAX_LENGTH = 200


class InboxEntry(Base):
    __tablename__ = "inbox_events"

    consumer: Mapped[str] = mapped_column(String(CONSUMER_MAX_LENGTH), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(EVENT_ID_LENGTH), primary_key=True)
    # Unix time (seconds, UTC) of the handling. Indexed for the purge.
    handled_at: Mapped[int] = mapped_column(BigInteger, index=True)
