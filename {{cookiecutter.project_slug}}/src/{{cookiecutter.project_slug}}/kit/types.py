"""Field types that several resources use."""

from typing import Annotated

from fastapi import Path
from pydantic import BeforeValidator, Field

# Largest value of a 32-bit INTEGER column: the ids and quantities of every table.
INTEGER_MAX = 2**31 - 1


def _not_a_boolean(value: object) -> object:
    # Pydantic's lax mode reads JSON's true and false as 1 and 0; the schema says "integer".
    if isinstance(value, bool):
        raise ValueError("a number, not true or false")
    return value


# An integer in a request body is a JSON number, never a boolean: the last annotation of each
# (after its bounds, so that the schema keeps them as "minimum" and "maximum").
NOT_A_BOOLEAN = BeforeValidator(_not_a_boolean)

# A row's id in a request body, and in a path.
RowId = Annotated[int, Field(ge=1, le=INTEGER_MAX), NOT_A_BOOLEAN]
PathId = Annotated[int, Path(ge=1, le=INTEGER_MAX)]


def path_id(name: str) -> str:
    """A path segment that only digits match ("{item_id:int}"): so "/items/bulk" is not read as
    item "bulk" of "/items/{item_id}" (PATCH /items/bulk is then a 405 with the path's `Allow`,
    not a 422), and a segment that is no number names nothing: 404. The OpenAPI path keeps the
    plain "{item_id}"."""
    return "{" + name + ":int}"
