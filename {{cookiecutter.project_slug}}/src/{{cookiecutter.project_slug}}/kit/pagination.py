"""Pages of a list: the query parameters every list operation takes, and the rows they select."""

from typing import Annotated

from fastapi import Query

PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
# Bounded, so one request cannot ask for the whole table.
PageSize = Annotated[int, Query(ge=1, le=100)]
DEFAULT_PAGE_SIZE = 20


def offset_of(page: int, page_size: int) -> int:
    """Rows before the first one of `page` (pages count from 1)."""
    return (page - 1) * page_size
