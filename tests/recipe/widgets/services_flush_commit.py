"""The unit-of-work layer for widgets (flush-commit): each function commits once, at its end,
before the response is built."""

from sqlalchemy.ext.asyncio import AsyncSession

from ..database.session import begin_read_only
from ..items import repository as items_repository
from ..items.errors import ItemNotFoundError
from . import repository
from .errors import WidgetNotFoundError
from .models import Widget
from .schemas import WidgetCreate


async def create_widget(session: AsyncSession, data: WidgetCreate) -> Widget:
    item = await items_repository.get_item(session, data.item_id)
    if item is None:
        raise ItemNotFoundError(data.item_id)
    widget = await repository.add_widget(session, data.name, item)
    await session.commit()
    return widget


async def get_widget(session: AsyncSession, widget_id: int) -> Widget:
    await begin_read_only(session)
    widget = await repository.get_widget(session, widget_id)
    if widget is None:
        raise WidgetNotFoundError(widget_id)
    await session.commit()
    return widget
