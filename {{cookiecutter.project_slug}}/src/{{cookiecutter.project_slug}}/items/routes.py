"""HTTP endpoints for items. Each one calls one unit of work in `services.py`."""

from fastapi import APIRouter, status

from ..auth.dependencies import requires
from ..database.failures import Failure
from ..database.session import SessionDep
from ..errors import refusals
from ..kit.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageSize
from ..kit.responses import SECURED
from ..kit.types import PathId, path_id
from . import links, services
from .errors import ItemNotFoundError
from .models import Item
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


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ItemRead,
    # A name another item has is a unique constraint's conflict.
    responses={status.HTTP_201_CREATED: {"links": links.ITEM}, **refusals(Failure.CONFLICT)},
    dependencies=WRITE,
)
async def create_item(data: ItemCreate, session: SessionDep) -> Item:
    return await services.create_item(session, data)


@router.post(
    "/bulk",
    status_code=status.HTTP_201_CREATED,
    response_model=list[ItemRead],
    responses={
        status.HTTP_201_CREATED: {"links": links.ITEM_LIST},
        **refusals(Failure.CONFLICT),
    },
    dependencies=WRITE,
)
async def create_items(rows: ItemCreateBatch, session: SessionDep) -> list[Item]:
    return await services.create_items(session, rows)


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
    responses=refusals(ItemNotFoundError),
    dependencies=READ,
)
async def get_item(item_id: PathId, session: SessionDep) -> Item:
    return await services.get_item(session, item_id)


@router.patch(
    f"/{ITEM_ID}",
    response_model=ItemRead,
    responses=refusals(ItemNotFoundError, Failure.CONFLICT),
    dependencies=WRITE,
)
async def update_item(item_id: PathId, changes: ItemUpdate, session: SessionDep) -> Item:
    return await services.update_item(session, item_id, changes)


@router.post(
    "/adjust-quantity",
    response_model=AdjustmentResult,
    # Below zero is the check constraint's conflict; past INTEGER_MAX, a value out of range.
    responses=refusals(Failure.CONFLICT, Failure.INVALID),
    dependencies=WRITE,
)
async def adjust_quantities(
    adjustment: QuantityAdjustment,
    session: SessionDep,
) -> AdjustmentResult:
    updated = await services.adjust_quantities(
        session, name_prefix=adjustment.name_prefix, delta=adjustment.delta
    )
    return AdjustmentResult(updated=updated)


@router.post(
    f"/{ITEM_ID}/transfer",
    response_model=ItemRead,
    responses=refusals(ItemNotFoundError, Failure.CONFLICT, Failure.INVALID),
    dependencies=WRITE,
)
async def transfer_quantity(item_id: PathId, transfer: Transfer, session: SessionDep) -> Item:
    return await services.transfer_quantity(session, item_id, transfer)


@router.delete(
    f"/{ITEM_ID}",
    status_code=status.HTTP_204_NO_CONTENT,
    # An item that order lines refer to is a foreign key's conflict.
    responses=refusals(ItemNotFoundError, Failure.CONFLICT),
    dependencies=WRITE,
)
async def delete_item(item_id: PathId, session: SessionDep) -> None:
    await services.delete_item(session, item_id)
