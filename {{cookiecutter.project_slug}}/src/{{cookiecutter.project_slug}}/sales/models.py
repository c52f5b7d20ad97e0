"""The item_sales table: units of an item sold by orders placed and not cancelled, as the
worker has counted them from the events (eventually consistent with the orders)."""

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from ..database.base import Base


class ItemSales(Base):
    __tablename__ = "item_sales"

    # No foreign key: the count follows the events, which may arrive after the item is gone.
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sold: Mapped[int] = mapped_column(Integer, default=0)
