"""HTTP endpoints for items. Each one calls one unit of work in `services.py`.

Every response that is one item carries its `ETag` (its version); writes to an existing item
honour `If-Match`, and a read honours `If-None-Match`. Every non-idempotent operation takes an
`Idempotency-Key` (idempotency/http.py).
"""

from fastapi import APIRouter, Request, Response, status

from ..auth.dependencies import requires
from ..database.failures import Failure
from ..database.session import SessionDep
from ..errors import refusals
from ..idempotency.http import (
    KEY_HEADER_REFUSED,
    KEY_REFUSALS,
    REPLAYED_HEADER,
    IdempotencyKeyDep,
    answer,
    replay_headers,
)
from ..kit.errors import PreconditionFailedError
from ..kit.http import (
    CONDITIONAL_READ,
    ETAG_HEADER,
    PRECONDITION_REQUIRED,
    IfMatch,
    IfNoneMatch,
    none_match,
    not_modified,
    row_response,
)
from ..kit.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageSize
from ..kit.responses import SECURED
from ..kit.routing import url_of
from ..kit.types import PathId, path_id
from ..kit.versions import etag
from . import links, services
from .errors import ItemNotFoundError
from .schemas import (
    AdjustmentResult,
    ItemCreate,
    ItemCreateBatch,
    ItemPage,
    ItemRead,
    ItemUpdate,
    QuantityAdjustment,
    Transfer,
)

router = APIRouter(prefix="/items", tags=["items"], responses=SECURED)

# Items are a shared catalogue: anyone may read it with items:read, and change it with
# items:write. The gate runs before the session is taken.
READ = [requires("items:read")]
WRITE = [requires("items:write")]
ITEM_ID = path_id("item_id")

LOCATION_HEADER = {
    "Location": {"description": "The new item's URL.", "schema": {"type": "string"}},
}
# What a write with If-Match may answer besides its own: a stale tag, or a change that landed
# between the unit of work's read and its write (412); no If-Match where one is required (428).
CONDITIONAL_WRITE = {
    **refusals(PreconditionFailedError, Failure.STALE),
    **PRECONDITION_REQUIRED,
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ItemRead,
    responses={
        status.HTTP_201_CREATED: {
            "links": links.ITEM,
            "headers": {**ETAG_HEADER, **LOCATION_HEADER, **REPLAYED_HEADER},
        },
        **KEY_HEADER_REFUSED,
        # A name another item has is a unique constraint's conflict.
        **refusals(*KEY_REFUSALS, Failure.CONFLICT),
    },
    dependencies=WRITE,
)
async def create_item(
    data: ItemCreate, session: SessionDep, key: IdempotencyKeyDep, request: Request
) -> Response:
    outcome = await services.create_item(session, data, key=key)
    location = url_of(request, router, "get_item", item_id=outcome.response.id)
    headers = {"Location": location, **replay_headers(outcome)}
    return row_response(outcome.response, status_code=status.HTTP_201_CREATED, headers=headers)


@router.post(
    "/bulk",
    status_code=status.HTTP_201_CREATED,
    response_model=list[ItemRead],
    responses={
        status.HTTP_201_CREATED: {"links": links.ITEM_LIST, "headers": REPLAYED_HEADER},
        **KEY_HEADER_REFUSED,
        **refusals(*KEY_REFUSALS, Failure.CONFLICT),
    },
    dependencies=WRITE,
)
async def create_items(
    rows: ItemCreateBatch, session: SessionDep, key: IdempotencyKeyDep, response: Response
) -> list[ItemRead]:
    return answer(response, await services.create_items(session, rows, key=key))


@router.get("", response_model=ItemPage, dependencies=READ)
async def list_items(
    session: SessionDep,
    page: PageNumber = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> ItemPage:
    return await services.list_items(session, page=page, page_size=page_size)


@router.get(
    f"/{ITEM_ID}",
    response_model=ItemRead,
    responses={
        status.HTTP_200_OK: {"headers": ETAG_HEADER},
        **CONDITIONAL_READ,
        **refusals(ItemNotFoundError),
    },
    dependencies=READ,
)
async def get_item(
    item_id: PathId,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    tags = none_match(if_none_match)
    item = ItemRead.model_validate(await services.get_item(session, item_id))
    if not_modified(tags, item.version):
        headers = {"ETag": etag(item.version)}
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return row_response(item)


@router.patch(
    f"/{ITEM_ID}",
    response_model=ItemRead,
    responses={
        status.HTTP_200_OK: {"headers": ETAG_HEADER},
        **CONDITIONAL_WRITE,
        **refusals(ItemNotFoundError, Failure.CONFLICT),
    },
    dependencies=WRITE,
)
async def update_item(
    item_id: PathId, changes: ItemUpdate, session: SessionDep, condition: IfMatch
) -> Response:
    item = await services.update_item(session, item_id, changes, condition=condition)
    return row_response(ItemRead.model_validate(item))


@router.post(
    "/adjust-quantity",
    response_model=AdjustmentResult,
    responses={
        status.HTTP_200_OK: {"headers": REPLAYED_HEADER},
        **KEY_HEADER_REFUSED,
        # Below zero is the check constraint's conflict; past INTEGER_MAX, a value out of range.
        **refusals(*KEY_REFUSALS, Failure.CONFLICT, Failure.INVALID),
    },
    dependencies=WRITE,
)
async def adjust_quantities(
    adjustment: QuantityAdjustment,
    session: SessionDep,
    key: IdempotencyKeyDep,
    response: Response,
) -> AdjustmentResult:
    outcome = await services.adjust_quantities(
        session, name_prefix=adjustment.name_prefix, delta=adjustment.delta, key=key
    )
    return answer(response, outcome)


@router.post(
    f"/{ITEM_ID}/transfer",
    response_model=ItemRead,
    responses={
        status.HTTP_200_OK: {"headers": {**ETAG_HEADER, **REPLAYED_HEADER}},
        **KEY_HEADER_REFUSED,
        **CONDITIONAL_WRITE,
        **refusals(*KEY_REFUSALS, ItemNotFoundError, Failure.CONFLICT, Failure.INVALID),
    },
    dependencies=WRITE,
)
async def transfer_quantity(
    item_id: PathId,
    transfer: Transfer,
    session: SessionDep,
    condition: IfMatch,
    key: IdempotencyKeyDep,
) -> Response:
    outcome = await services.transfer_quantity(
        session,
        item_id,
        transfer,
        condition=condition,
        key=key,
    )
    return row_response(outcome.response, headers=replay_headers(outcome))


@router.delete(
    f"/{ITEM_ID}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        **CONDITIONAL_WRITE,
        # An item that order lines refer to is a foreign key's conflict.
        **refusals(ItemNotFoundError, Failure.CONFLICT),
    },
    dependencies=WRITE,
)
async def delete_item(item_id: PathId, session: SessionDep, condition: IfMatch) -> None:
    await services.delete_item(session, item_id, condition=condition)
