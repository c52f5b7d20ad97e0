"""The widgets table. Its relationship is lazy="raise": each query in `repository.py` says
what it loads."""

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database.base import Base
from ..database.dialect import NEVER_REUSED_IDS
from ..items.models import NAME_MAX_LENGTH, Item


class Widget(Base):
    __tablename__ = "widgets"
    # A deleted widget's id is never given to a new one (the dialect knows how).
    __table_args__ = (NEVER_REUSED_IDS,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    # No cascade: an item that widgets are made from cannot be deleted (409).
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    item: Mapped[Item] = relationship(lazy="raise")
