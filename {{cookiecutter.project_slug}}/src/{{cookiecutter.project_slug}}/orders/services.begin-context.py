"""The unit-of-work layer for orders: each function is one transaction, and the only place that
has one.

Convention (begin-context): each function is one `async with session.begin():` block. The block
commits when it ends normally, before the response is built, and rolls back when an exception
leaves it: a domain error raised inside it keeps nothing of a refused order.
"""

from collections.abc import Sequence

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from ..database.session import begin_read_only
from ..idempotency.claims import Outcome, claim
from ..idempotency.keys import RequestKey
from ..items import repository as items_repository
from ..items.errors import ItemNotFoundError
from ..kit.pagination import offset_of
from ..kit.versions import VersionCondition
from ..outbox import repository as outbox
from . import events, repository
from .errors import InsufficientStockError, OrderAlreadyCancelledError, OrderNotFoundError
from .models import Order, OrderStatus
from .schemas import OrderCreate, OrderLineCreate, OrderPage, OrderRead

# How the keyed operations' response is stored for replay.
ORDER = TypeAdapter(OrderRead)


async def place_order(
    session: AsyncSession, data: OrderCreate, *, owner: str, key: RequestKey | None = None
) -> Outcome[OrderRead]:
    """Take every line's quantity from stock and store the order: all of it, or nothing."""
    async with session.begin():
        claimed = await claim(session, key, ORDER)
        if claimed.replay is None:
            await _take_stock(session, data.lines)
            order = await repository.add_order(session, data.lines, owner=owner)
            # Stored by this unit of work's commit, or dropped with the order by its rollback.
            outbox.record(session, events.PLACED, events.payload(order))
            claimed.remember(OrderRead.model_validate(order))
    return claimed.outcome


async def get_order(session: AsyncSession, order_id: int, *, owner: str) -> Order:
    # Read-only work gets a block too: its end returns the connection before the response is built.
    async with session.begin():
        await begin_read_only(session)
        return await _existing_order(session, order_id, owner=owner)


async def list_orders(
    session: AsyncSession,
    *,
    owner: str,
    page: int,
    page_size: int,
) -> OrderPage:
    offset = offset_of(page, page_size)
    async with session.begin():
        await begin_read_only(session)
        orders = await repository.list_orders(session, owner=owner, offset=offset, limit=page_size)
        total = await repository.count_orders(session, owner=owner)
    return OrderPage(
        orders=[OrderRead.model_validate(order) for order in orders],
        page=page,
        page_size=page_size,
        total=total,
    )


async def cancel_order(
    session: AsyncSession,
    order_id: int,
    *,
    owner: str,
    condition: VersionCondition,
    key: RequestKey | None = None,
) -> Outcome[OrderRead]:
    """Give the order's stock back, once: the order's row lock makes a second cancel wait for
    the first, then see it."""
    async with session.begin():
        claimed = await claim(session, key, ORDER)
        if claimed.replay is None:
            order = await _existing_order(session, order_id, owner=owner, for_update=True)
            condition.check("Order", order.id, order.version)
            if order.status == OrderStatus.CANCELLED:
                raise OrderAlreadyCancelledError(order_id)
            item_ids = sorted(line.item_id for line in order.lines)
            await items_repository.lock_items(session, item_ids)
            for line in order.lines:
                await items_repository.add_to_quantity(session, line.item_id, line.quantity)
            await repository.mark_cancelled(session, order)
            outbox.record(session, events.CANCELLED, events.payload(order))
            claimed.remember(OrderRead.model_validate(order))
    return claimed.outcome


async def _take_stock(session: AsyncSession, lines: Sequence[OrderLineCreate]) -> None:
    # Every check before any write: a refused order has changed nothing even before rollback.
    items = await items_repository.lock_items(session, sorted(line.item_id for line in lines))
    for line in lines:
        item = items.get(line.item_id)
        if item is None:
            raise ItemNotFoundError(line.item_id)
        if item.quantity < line.quantity:
            raise InsufficientStockError(item.id, item.name, line.quantity, item.quantity)
    for line in lines:
        await items_repository.add_to_quantity(session, line.item_id, -line.quantity)


async def _existing_order(
    session: AsyncSession,
    order_id: int,
    *,
    owner: str,
    for_update: bool = False,
) -> Order:
    order = await repository.get_order(session, order_id, owner=owner, for_update=for_update)
    if order is None:
        raise OrderNotFoundError(order_id)
    return order
