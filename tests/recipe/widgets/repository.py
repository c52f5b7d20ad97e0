"""Data access for widgets: statements only. These functions add and flush, and never commit.
A query that returns widgets loads their item with `selectinload`."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from ..items.models import Item
from .models import Widget


async def add_widget(session: AsyncSession, name: str, item: Item) -> Widget:
    widget = Widget(name=name, item=item)
    session.add(widget)
    await session.flush()
    return widget


async def get_widget(session: AsyncSession, widget_id: int) -> Widget | None:
    return await session.scalar(
        select(Widget).where(Widget.id == widget_id).options(selectinload(Widget.item)),
    )
