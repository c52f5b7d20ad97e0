"""Field types that several resources use."""

from typing import Annotated

from fastapi import Path
from pydantic import Field

# Largest value of a 32-bit INTEGER column: the ids and quantities of every table.
INTEGER_MAX = 2**31 - 1

# A row's id in a request body, and in a path.
RowId = Annotated[int, Field(ge=1, le=INTEGER_MAX)]
PathId = Annotated[int, Path(ge=1, le=INTEGER_MAX)]
