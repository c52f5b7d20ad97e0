"""The items table."""

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database.base import Base
from ..database.dialect import NEVER_REUSED_IDS

NAME_MAX_LENGTH = 100


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_non_negative"),
        # A deleted item's id is never given to a new one (the dialect knows how).
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), unique=True)
    # A 32-bit INTEGER on purpose: values past its range must fail cleanly, not poison the session.
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every change (the ORM's versioned UPDATE here, and by hand in the repository's
    # statements that change many rows): the ETag of the row, checked against If-Match.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    # Read by SQLAlchemy when the class is made, as its declarative API types it.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
