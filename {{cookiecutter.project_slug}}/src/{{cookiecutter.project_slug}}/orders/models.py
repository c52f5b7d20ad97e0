"""The orders and order_lines tables.

Relationships are declared lazy="raise": touching one that the query did not load raises at
once, instead of sending a hidden query per row (or failing with MissingGreenlet in async code).
Each query in `repository.py` says what it loads.
"""

import enum

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.principal import SUB_MAX_LENGTH
from ..database.base import Base
from ..database.dialect import NEVER_REUSED_IDS


class OrderStatus(enum.StrEnum):
    PLACED = "placed"
    CANCELLED = "cancelled"


class Order(Base):
    __tablename__ = "orders"
    # A deleted order's id is never given to a new one (the dialect knows how).
    __table_args__ = (NEVER_REUSED_IDS,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The `sub` of the principal that placed it: only that principal sees it. Indexed: every
    # query filters on it. The empty default is nobody's: orders from before access control,
    # or a row inserted by hand, are seen by no principal rather than refused by the database.
    owner: Mapped[str] = mapped_column(String(SUB_MAX_LENGTH), index=True, server_default="")
    # A VARCHAR with a CHECK, not a native ENUM type: adding a status is then a plain migration
    # on every database.
    status: Mapped[OrderStatus] = mapped_column(
        Enum(
            OrderStatus,
            native_enum=False,
            create_constraint=True,
            length=20,
            name="order_status",
            values_callable=lambda statuses: [status.value for status in statuses],
        ),
        default=OrderStatus.PLACED,
    )
    # Bumped by every change of the order (its ETag): a cancel with a stale If-Match is refused.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order",
        lazy="raise",
        order_by="OrderLine.id",
        cascade="all, delete-orphan",
    )

    # Read by SQLAlchemy when the class is made, as its declarative API types it.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        # One line per item and order: the schema refuses duplicates, the table makes sure.
        UniqueConstraint("order_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The unique constraint above leads with order_id: it is also the index of this key.
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    # No cascade: an item that orders refer to cannot be deleted (409), so history stays whole.
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    order: Mapped[Order] = relationship(back_populates="lines", lazy="raise")
