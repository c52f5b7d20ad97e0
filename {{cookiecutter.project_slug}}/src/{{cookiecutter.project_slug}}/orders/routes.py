"""HTTP endpoints for orders. Each one calls one unit of work in `services.py`."""

from typing import Annotated

from fastapi import APIRouter, status

from ..auth.dependencies import requires
from ..auth.principal import Principal
from ..database.failures import Failure
from ..database.session import SessionDep
from ..errors import refusals
from ..items.errors import ItemNotFoundError
from ..kit.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageSize
from ..kit.responses import SECURED
from ..kit.types import PathId, path_id
from . import links, services
from .errors import InsufficientStockError, OrderAlreadyCancelledError, OrderNotFoundError
from .models import Order
from .schemas import OrderCreate, OrderPage, OrderRead

router = APIRouter(prefix="/orders", tags=["orders"], responses=SECURED)

# The caller, verified before the session is taken (the first parameter of each endpoint). An
# order belongs to the `sub` that placed it; every other principal is told it does not exist.
Reader = Annotated[Principal, requires("orders:read")]
Writer = Annotated[Principal, requires("orders:write")]
ORDER_ID = path_id("order_id")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderRead,
    responses={
        status.HTTP_201_CREATED: {"links": links.ORDER},
        **refusals(ItemNotFoundError, InsufficientStockError),
    },
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


@router.get(f"/{ORDER_ID}", response_model=OrderRead, responses=refusals(OrderNotFoundError))
async def get_order(caller: Reader, order_id: PathId, session: SessionDep) -> Order:
    return await services.get_order(session, order_id, owner=caller.sub)


@router.post(
    f"/{ORDER_ID}/cancel",
    response_model=OrderRead,
    # The stock given back may not fit an item's quantity any more: a value out of range.
    responses=refusals(OrderNotFoundError, OrderAlreadyCancelledError, Failure.INVALID),
)
async def cancel_order(caller: Writer, order_id: PathId, session: SessionDep) -> Order:
    return await services.cancel_order(session, order_id, owner=caller.sub)
