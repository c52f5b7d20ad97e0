"""Request and response bodies."""

from pydantic import BaseModel, ConfigDict

from ..items.schemas import ItemName, ItemRead
from ..kit.types import RowId


class WidgetCreate(BaseModel):
    name: ItemName
    item_id: RowId


class WidgetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    item: ItemRead
