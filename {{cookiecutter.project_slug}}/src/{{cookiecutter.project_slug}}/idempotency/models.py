"""The idempotency_keys table: one row per key a principal used on an operation, written in
the same transaction as the operation's effect, with the response to replay."""

from sqlalchemy import BigInteger, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..auth.principal import SUB_MAX_LENGTH
from ..database.base import Base

# The longest key accepted (Stripe's limit; the draft sets none).
KEY_MAX_LENGTH = 255
# "POST /orders/{order_id}/cancel": the method and the route's path template.
OPERATION_MAX_LENGTH = 100


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    # A key belongs to the principal, the operation and nothing else: two principals' equal
    # keys never meet, and neither do one principal's keys on two operations. The unique index
    # is also the lock a concurrent retry waits on until the first request commits.
    __table_args__ = (UniqueConstraint("owner", "key", "operation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(SUB_MAX_LENGTH))
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH))
    operation: Mapped[str] = mapped_column(String(OPERATION_MAX_LENGTH))
    # SHA-256 (hex) of the request's path, query and body: the same key with another request
    # is refused (422), not answered with the first one's response.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # The response body to replay (JSON), written by the unit of work before it commits.
    response: Mapped[str | None] = mapped_column(Text)
    # Unix time (seconds, UTC) of the request: a number, so that every database compares it
    # the same way, whatever its time zone. Indexed for the purge.
    created_at: Mapped[int] = mapped_column(BigInteger, index=True)
