"""Request and response bodies."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..kit.types import INTEGER_MAX, NOT_A_BOOLEAN, RowId
from .models import OrderStatus

# Lines per order: one statement locks them all, so the bound keeps that statement small.
MAX_ORDER_LINES = 100


class OrderLineCreate(BaseModel):
    item_id: RowId
    quantity: Annotated[int, Field(gt=0, le=INTEGER_MAX), NOT_A_BOOLEAN]


def one_line_per_item(lines: list[OrderLineCreate]) -> list[OrderLineCreate]:
    item_ids = [line.item_id for line in lines]
    duplicates = sorted({item_id for item_id in item_ids if item_ids.count(item_id) > 1})
    if duplicates:
        raise ValueError(f"one line per item; repeated item ids: {duplicates}")
    return lines


class OrderCreate(BaseModel):
    lines: Annotated[
        list[OrderLineCreate],
        # The schema cannot say it (uniqueItems compares whole lines), so its description does.
        Field(
            min_length=1,
            max_length=MAX_ORDER_LINES,
            description="One line per item: two lines with the same item_id are refused (422).",
        ),
        AfterValidator(one_line_per_item),
    ]


class OrderLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    item_id: int
    quantity: int


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: OrderStatus
    lines: list[OrderLineRead]
    # The order's version: its ETag, the value to send back in If-Match.
    version: int


class OrderPage(BaseModel):
    orders: list[OrderRead]
    page: int
    page_size: int
    total: int
