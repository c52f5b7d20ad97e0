"""HTTP endpoints for orders. Each one calls one unit of work in `services.py`."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from .. import links
from ..database.session import SessionDep
from ..items.models import INTEGER_MAX
from . import services
from .models import Order
from .schemas import OrderCreate, OrderPage, OrderRead

router = APIRouter(prefix="/orders", tags=["orders"])

OrderId = Annotated[int, Path(ge=1, le=INTEGER_MAX)]


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
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> OrderPage:
    return await services.list_orders(session, page=page, page_size=page_size)


@router.get("/{order_id}", response_model=OrderRead)
async def get_order(order_id: OrderId, session: SessionDep) -> Order:
    return await services.get_order(session, order_id)


@router.post("/{order_id}/cancel", response_model=OrderRead)
async def cancel_order(order_id: OrderId, session: SessionDep) -> Order:
    return await services.cancel_order(session, order_id)
