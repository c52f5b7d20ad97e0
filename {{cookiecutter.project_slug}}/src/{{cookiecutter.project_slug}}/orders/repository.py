"""Data access for orders: statements only. These functions add and flush, and never commit:
the transaction belongs to the unit of work in `services.py`. Every query that returns orders
loads their lines with `selectinload` (one more statement per query, whatever the number of
orders), because the relationships are lazy="raise"."""

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from ..items.models import Item
from .models import Order, OrderLine, OrderStatus
from .schemas import OrderLineCreate


async def lock_items(session: AsyncSession, item_ids: Sequence[int]) -> dict[int, Item]:
    """The items, locked until the transaction ends (SELECT ... FOR UPDATE), in id order: two
    orders that share items then queue one behind the other instead of deadlocking. A database
    without row locks renders no FOR UPDATE; the dialect module serialises its writers instead
    (a BEGIN IMMEDIATE for every writing transaction)."""
    items = await session.scalars(
        select(Item)
        .where(Item.id.in_(item_ids))
        .order_by(Item.id)
        .with_for_update()
        # The locking read returns the latest committed stock: it must replace whatever an
        # earlier statement of this session may have loaded.
        .execution_options(populate_existing=True),
    )
    return {item.id: item for item in items}


async def add_order(session: AsyncSession, lines: Sequence[OrderLineCreate]) -> Order:
    order = Order(
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
    for_update: bool = False,
) -> Order | None:
    statement = select(Order).where(Order.id == order_id).options(selectinload(Order.lines))
    if for_update:
        # Two cancels of one order queue here: the second sees the first one's status.
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(statement)


async def list_orders(session: AsyncSession, *, offset: int, limit: int) -> list[Order]:
    orders = await session.scalars(
        select(Order)
        .options(selectinload(Order.lines))
        .order_by(Order.id)
        .offset(offset)
        .limit(limit),
    )
    return list(orders)


async def count_orders(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Order)) or 0


async def add_to_stock(session: AsyncSession, item_id: int, delta: int) -> None:
    """Add `delta` in the database itself: the row is locked, and the statement is correct
    even if it were not."""
    await session.execute(
        update(Item)
        .where(Item.id == item_id)
        .values(quantity=Item.quantity + delta)
        .execution_options(synchronize_session=False),
    )


async def mark_cancelled(session: AsyncSession, order: Order) -> Order:
    order.status = OrderStatus.CANCELLED
    await session.flush()
    return order
