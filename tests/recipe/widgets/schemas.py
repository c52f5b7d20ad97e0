"""Request and response bodies."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ..items.models import INTEGER_MAX
from ..items.schemas import ItemName, ItemRead


class WidgetCreate(BaseModel):
    name: ItemName
    item_id: Annotated[int, Field(ge=1, le=INTEGER_MAX)]


class WidgetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    item: ItemRead
