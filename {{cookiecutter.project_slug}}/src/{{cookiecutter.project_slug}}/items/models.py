"""The items table."""

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database.base import Base

NAME_MAX_LENGTH = 100


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_non_negative"),
        # SQLite would otherwise give a new item the id of the last one deleted (migration 0004);
        # the other databases ignore this option, and never reuse ids.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), unique=True)
    # A 32-bit INTEGER on purpose: values past its range must fail cleanly, not poison the session.
    quantity: Mapped[int] = mapped_column(Integer, default=0)
