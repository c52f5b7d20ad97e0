"""Data access for orders: statements only. These functions add and flush, and never commit:
the transaction belongs to the unit of work in `services.py`. Stock is the items' own table:
the units of work change it through `items/repository.py`. Every query that returns orders
loads their lines with `selectinload` (one more statement per query, whatever the number of
orders), because the relationships are lazy="raise"."""

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from .models import Order, OrderLine, OrderStatus
from .schemas import OrderLineCreate


async def add_order(
    session: AsyncSession,
    lines: Sequence[OrderLineCreate],
    *,
    owner: str,
) -> Order:
    order = Order(
        owner=owner,
        status=OrderStatus.PLACED,
        lines=[OrderLine(item_id=line.item_id, quantity=line.quantity) for line in lines],
    )
    session.add(order)
    await session.flush()
    return order


async def get_order(
    session: AsyncSession,
    order_id: int,
    *,
    owner: str,
    for_update: bool = False,
) -> Order | None:
    """The order, if it exists and is `owner`'s: another principal's order is not found, by the
    query itself (its existence is never loaded, so never revealed)."""
    statement = (
        select(Order)
        .where(Order.id == order_id, Order.owner == owner)
        .options(selectinload(Order.lines))
    )
    if for_update:
        # Two cancels of one order queue here: the second sees the first one's status.
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(statement)


async def list_orders(
    session: AsyncSession,
    *,
    owner: str,
    offset: int,
    limit: int,
) -> list[Order]:
    orders = await session.scalars(
        select(Order)
        .where(Order.owner == owner)
        .options(selectinload(Order.lines))
        .order_by(Order.id)
        .offset(offset)
        .limit(limit),
    )
    return list(orders)


async def count_orders(session: AsyncSession, *, owner: str) -> int:
    return await session.scalar(select(func.count()).where(Order.owner == owner)) or 0


async def mark_cancelled(session: AsyncSession, order: Order) -> Order:
    order.status = OrderStatus.CANCELLED
    await session.flush()
    return order
