"""The handlers of the orders' events: each adds to the transaction the worker's unit of work
opened (the inbox entry of the event is in it too) and never commits."""

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ..messaging.messages import Event, MalformedEventError
from . import repository


class Line(BaseModel):
    item_id: int
    quantity: int


class OrderEvent(BaseModel):
    """What `order.placed` and `order.cancelled` carry (orders/services.py records them)."""

    order_id: int
    lines: list[Line]


def order_event(event: Event) -> OrderEvent:
    try:
        return OrderEvent.model_validate(event.payload)
    except ValidationError as error:
        raise MalformedEventError(f"a {event.kind!r} event: {error}") from error


async def count_sold(session: AsyncSession, event: Event) -> None:
    """order.placed: its lines' quantities are sold."""
    await _add(session, order_event(event), sign=1)


async def uncount_sold(session: AsyncSession, event: Event) -> None:
    """order.cancelled: its lines' quantities are sold no more."""
    await _add(session, order_event(event), sign=-1)


async def _add(session: AsyncSession, order: OrderEvent, *, sign: int) -> None:
    # In item order, as every writer of several rows here: two handlers never wait on each
    # other in opposite orders (no deadlock).
    for line in sorted(order.lines, key=lambda line: line.item_id):
        await repository.add_sold(session, line.item_id, sign * line.quantity)
