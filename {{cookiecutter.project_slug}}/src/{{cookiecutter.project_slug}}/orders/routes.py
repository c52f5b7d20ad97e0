"""HTTP endpoints for orders. Each one calls one unit of work in `services.py`."""

from typing import Annotated

from fastapi import APIRouter, status

from ..auth.dependencies import requires
from ..auth.principal import Principal
from ..database.session import SessionDep
from ..kit.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageSize
from ..kit.responses import SECURED
from ..kit.types import PathId
from . import links, services
from .models import Order
from .schemas import OrderCreate, OrderPage, OrderRead

router = APIRouter(prefix="/orders", tags=["orders"], responses=SECURED)

# The caller, verified before the session is taken (the first parameter of each endpoint). An
# order belongs to the `sub` that placed it; every other principal is told it does not exist.
Reader = Annotated[Principal, requires("orders:read")]
Writer = Annotated[Principal, requires("orders:write")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderRead,
    responses={status.HTTP_201_CREATED: {"links": links.ORDER}},
)
async def place_order(caller: Writer, data: OrderCreate, session: SessionDep) -> Order:
    return await services.place_order(session, data, owner=caller.sub)


@router.get("", response_model=OrderPage)
async def list_orders(
    caller: Reader,
    session: SessionDep,
    page: PageNumber = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> OrderPage:
    return await services.list_orders(session, owner=caller.sub, page=page, page_size=page_size)


@router.get("/{order_id}", response_model=OrderRead)
async def get_order(caller: Reader, order_id: PathId, session: SessionDep) -> Order:
    return await services.get_order(session, order_id, owner=caller.sub)


@router.post("/{order_id}/cancel", response_model=OrderRead)
async def cancel_order(caller: Writer, order_id: PathId, session: SessionDep) -> Order:
    return await services.cancel_order(session, order_id, owner=caller.sub)
