"""Data access for the sales counts: statements only, never a commit."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import ItemSales


async def add_sold(session: AsyncSession, item_id: int, units: int) -> None:
    """Add `units` (negative for a cancellation) to the item's count, creating it at 0. The row
    is locked, so two handlers counting one item queue; two creating it at once collide on the
    primary key, and the loser's event is retried (and then finds the row)."""
    sales = await session.scalar(
        select(ItemSales).where(ItemSales.item_id == item_id).with_for_update(),
    )
    if sales is None:
        session.add(ItemSales(item_id=item_id, sold=units))
    else:
        sales.sold += units
    await session.flush()
