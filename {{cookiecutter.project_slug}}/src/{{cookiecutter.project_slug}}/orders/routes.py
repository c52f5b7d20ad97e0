"""HTTP endpoints for orders. Each one calls one unit of work in `services.py`."""

from fastapi import APIRouter, status

from ..database.session import SessionDep
from ..kit.pagination import DEFAULT_PAGE_SIZE, PageNumber, PageSize
from ..kit.types import PathId
from . import links, services
from .models import Order
from .schemas import OrderCreate, OrderPage, OrderRead

router = APIRouter(prefix="/orders", tags=["orders"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderRead,
    responses={status.HTTP_201_CREATED: {"links": links.ORDER}},
)
async def place_order(data: OrderCreate, session: SessionDep) -> Order:
    return await services.place_order(session, data)


@router.get("", response_model=OrderPage)
async def list_orders(
    session: SessionDep,
    page: PageNumber = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> OrderPage:
    return await services.list_orders(session, page=page, page_size=page_size)


@router.get("/{order_id}", response_model=OrderRead)
async def get_order(order_id: PathId, session: SessionDep) -> Order:
    return await services.get_order(session, order_id)


@router.post("/{order_id}/cancel", response_model=OrderRead)
async def cancel_order(order_id: PathId, session: SessionDep) -> Order:
    return await services.cancel_order(session, order_id)
