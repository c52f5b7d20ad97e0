"""HTTP endpoints for items. Each one calls one unit of work in `services.py`.

Every response that is one item carries its `ETag` (its version); writes to an existing item
honour `If-Match`, and a read honours `If-None-Match`. Every non-idempotent operation takes an
`Idempotency-Key` (idempotency/http.py).
"""

from fastapi import APIRouter, Request, Response, status

from ..auth.dependencies import requires
from ..database.session import SessionDep
from ..idempotency.http import KEYED, REPLAYED_HEADER, IdempotencyKeyDep, answer
from ..kit.http import (
    CONDITIONAL_READ,
    CONDITIONAL_WRITE,
    ETAG_HEADER,
    IfMatch,
    IfNoneMatch,
    not_modified,
)
from ..kit.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageSize
from ..kit.responses import SECURED
from ..kit.types import PathId
from ..kit.versions import etag
from . import links, services
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

LOCATION_HEADER = {
    "Location": {"description": "The new item's URL.", "schema": {"type": "string"}},
}


def item_answer(response: Response, item: ItemRead) -> ItemRead:
    response.headers["ETag"] = etag(item.version)
    return item


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ItemRead,
    responses={
        **KEYED,
        status.HTTP_201_CREATED: {
            "links": links.ITEM,
            "headers": {**ETAG_HEADER, **LOCATION_HEADER, **REPLAYED_HEADER},
        },
    },
    dependencies=WRITE,
)
async def create_item(
    data: ItemCreate,
    session: SessionDep,
    key: IdempotencyKeyDep,
    request: Request,
    response: Response,
) -> ItemRead:
    item = answer(response, await services.create_item(session, data, key=key))
    response.headers["Location"] = str(request.url_for("get_item", item_id=item.id))
    return item_answer(response, item)


@router.post(
    "/bulk",
    status_code=status.HTTP_201_CREATED,
    response_model=list[ItemRead],
    responses={
        **KEYED,
        status.HTTP_201_CREATED: {"links": links.ITEM_LIST, "headers": REPLAYED_HEADER},
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
    "/{item_id}",
    response_model=ItemRead,
    responses={status.HTTP_200_OK: {"headers": ETAG_HEADER}, **CONDITIONAL_READ},
    dependencies=READ,
)
async def get_item(
    item_id: PathId, session: SessionDep, tags: IfNoneMatch, response: Response
) -> ItemRead | Response:
    item = ItemRead.model_validate(await services.get_item(session, item_id))
    if not_modified(tags, item.version):
        headers = {"ETag": etag(item.version)}
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return item_answer(response, item)


@router.patch(
    "/{item_id}",
    response_model=ItemRead,
    responses={status.HTTP_200_OK: {"headers": ETAG_HEADER}, **CONDITIONAL_WRITE},
    dependencies=WRITE,
)
async def update_item(
    item_id: PathId,
    changes: ItemUpdate,
    session: SessionDep,
    condition: IfMatch,
    response: Response,
) -> ItemRead:
    item = await services.update_item(session, item_id, changes, condition=condition)
    return item_answer(response, ItemRead.model_validate(item))


@router.post(
    "/adjust-quantity",
    response_model=AdjustmentResult,
    responses={**KEYED, status.HTTP_200_OK: {"headers": REPLAYED_HEADER}},
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
    "/{item_id}/transfer",
    response_model=ItemRead,
    responses={
        **KEYED,
        **CONDITIONAL_WRITE,
        status.HTTP_200_OK: {"headers": {**ETAG_HEADER, **REPLAYED_HEADER}},
    },
    dependencies=WRITE,
)
async def transfer_quantity(
    item_id: PathId,
    transfer: Transfer,
    session: SessionDep,
    condition: IfMatch,
    key: IdempotencyKeyDep,
    response: Response,
) -> ItemRead:
    outcome = await services.transfer_quantity(
        session,
        item_id,
        transfer,
        condition=condition,
        key=key,
    )
    return item_answer(response, answer(response, outcome))


@router.delete(
    "/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=CONDITIONAL_WRITE,
    dependencies=WRITE,
)
async def delete_item(item_id: PathId, session: SessionDep, condition: IfMatch) -> None:
    await services.delete_item(session, item_id, condition=condition)
