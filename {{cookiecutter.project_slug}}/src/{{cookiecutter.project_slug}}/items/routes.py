"""HTTP endpoints for items. Each one calls one unit of work in `services.py`."""

from fastapi import APIRouter, status

from ..auth.dependencies import requires
from ..database.session import SessionDep
from ..kit.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageSize
from ..kit.responses import SECURED
from ..kit.types import PathId
from . import links, services
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


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ItemRead,
    responses={status.HTTP_201_CREATED: {"links": links.ITEM}},
    dependencies=WRITE,
)
async def create_item(data: ItemCreate, session: SessionDep) -> Item:
    return await services.create_item(session, data)


@router.post(
    "/bulk",
    status_code=status.HTTP_201_CREATED,
    response_model=list[ItemRead],
    responses={status.HTTP_201_CREATED: {"links": links.ITEM_LIST}},
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


@router.get("/{item_id}", response_model=ItemRead, dependencies=READ)
async def get_item(item_id: PathId, session: SessionDep) -> Item:
    return await services.get_item(session, item_id)


@router.patch("/{item_id}", response_model=ItemRead, dependencies=WRITE)
async def update_item(item_id: PathId, changes: ItemUpdate, session: SessionDep) -> Item:
    return await services.update_item(session, item_id, changes)


@router.post("/adjust-quantity", response_model=AdjustmentResult, dependencies=WRITE)
async def adjust_quantities(
    adjustment: QuantityAdjustment,
    session: SessionDep,
) -> AdjustmentResult:
    updated = await services.adjust_quantities(
        session, name_prefix=adjustment.name_prefix, delta=adjustment.delta
    )
    return AdjustmentResult(updated=updated)


@router.post("/{item_id}/transfer", response_model=ItemRead, dependencies=WRITE)
async def transfer_quantity(item_id: PathId, transfer: Transfer, session: SessionDep) -> Item:
    return await services.transfer_quantity(session, item_id, transfer)


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=WRITE)
async def delete_item(item_id: PathId, session: SessionDep) -> None:
    await services.delete_item(session, item_id)
