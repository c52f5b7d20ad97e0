"""Request and response bodies."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from ..kit.types import INTEGER_MAX, NOT_A_BOOLEAN, RowId
from .models import NAME_MAX_LENGTH

MAX_BULK_ITEMS = 1000

# Printable text only: NUL and other control characters are refused before any database sees
# them (some databases cannot store NUL at all). Surrounding whitespace is stripped, so a name
# needs a character that is not whitespace: the pattern says so to clients, where min_length
# alone would let them send "   " (pydantic checks it after stripping, the schema before).
ItemName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=NAME_MAX_LENGTH,
        pattern=r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$",
    ),
]
Quantity = Annotated[int, Field(ge=0, le=INTEGER_MAX), NOT_A_BOOLEAN]


class ItemCreate(BaseModel):
    name: ItemName
    quantity: Quantity = 0


# One INSERT statement per batch; larger batches are refused (422) rather than left to time out.
ItemCreateBatch = Annotated[list[ItemCreate], Field(min_length=1, max_length=MAX_BULK_ITEMS)]


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def left_out() -> Any:
    """A field that may be left out but not sent as null: its default None only marks it left
    out, so the schema shows neither null nor that default."""
    return Field(default=None, json_schema_extra=_without_default)


class ItemUpdate(BaseModel):
    """Only the fields sent are changed. None is only the default of a field left out: an
    explicit null would reach a NOT NULL column, so it is refused here, before any SQL, and the
    schema does not offer it (SkipJsonSchema)."""

    name: ItemName | SkipJsonSchema[None] = left_out()
    quantity: Quantity | SkipJsonSchema[None] = left_out()

    # Validators do not run on defaults, so this sees only the values the client sent.
    @field_validator("name", "quantity")
    @classmethod
    def not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out, but not null")
        return value


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    quantity: int
    # The row's version: its ETag, the value to send back in If-Match.
    version: int


class ItemPage(BaseModel):
    items: list[ItemRead]
    page: int
    page_size: int
    total: int


class QuantityAdjustment(BaseModel):
    """Add `delta` to the quantity of every item whose name starts with `name_prefix`."""

    name_prefix: str = Field(max_length=NAME_MAX_LENGTH)
    # Each delta fits the column; the sum may not, and then the database refuses it (422).
    delta: Annotated[int, Field(ge=-INTEGER_MAX, le=INTEGER_MAX), NOT_A_BOOLEAN]


class AdjustmentResult(BaseModel):
    updated: int


class Transfer(BaseModel):
    to_item_id: RowId
    quantity: Annotated[int, Field(gt=0, le=INTEGER_MAX), NOT_A_BOOLEAN]
