"""The unit-of-work layer: each function is one transaction, and the only place that has one.

Convention (begin-context): each function is one `async with session.begin():` block. The block
commits when it ends normally, before the response is built, and rolls back when an exception
leaves it. Data access in `repository.py` flushes inside the block and never commits.
"""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from ..database.session import begin_read_only
from ..kit.pagination import offset_of
from . import repository
from .errors import ItemNotFoundError
from .models import Item
from .schemas import ItemCreate, ItemPage, ItemRead, ItemUpdate, Transfer


async def create_item(session: AsyncSession, data: ItemCreate) -> Item:
    async with session.begin():
        return await repository.add_item(session, data)


async def create_items(session: AsyncSession, rows: Sequence[ItemCreate]) -> list[Item]:
    async with session.begin():
        return await repository.insert_items(session, rows)


async def get_item(session: AsyncSession, item_id: int) -> Item:
    # Read-only work gets a block too: its end returns the connection before the response is built.
    async with session.begin():
        await begin_read_only(session)
        return await _existing_item(session, item_id)


async def list_items(session: AsyncSession, *, page: int, page_size: int) -> ItemPage:
    offset = offset_of(page, page_size)
    async with session.begin():
        await begin_read_only(session)
        items = await repository.list_items(session, offset=offset, limit=page_size)
        total = await repository.count_items(session)
    return ItemPage(
        items=[ItemRead.model_validate(item) for item in items],
        page=page,
        page_size=page_size,
        total=total,
    )


async def update_item(session: AsyncSession, item_id: int, changes: ItemUpdate) -> Item:
    async with session.begin():
        item = await _existing_item(session, item_id)
        return await repository.update_item(session, item, changes)


async def adjust_quantities(session: AsyncSession, *, name_prefix: str, delta: int) -> int:
    async with session.begin():
        return await repository.adjust_quantities(session, name_prefix=name_prefix, delta=delta)


async def transfer_quantity(session: AsyncSession, source_id: int, transfer: Transfer) -> Item:
    """Move stock between two items: both changes are stored, or neither."""
    async with session.begin():
        items = await repository.lock_items(session, [source_id, transfer.to_item_id])
        source = _found(items, source_id)
        await repository.add_to_quantity(session, source.id, -transfer.quantity)
        # The decrement is already sent to the database; a missing target rolls it back.
        target = _found(items, transfer.to_item_id)
        await repository.add_to_quantity(session, target.id, transfer.quantity)
        await repository.reload_quantity(session, source)
        return source


async def delete_item(session: AsyncSession, item_id: int) -> None:
    async with session.begin():
        item = await _existing_item(session, item_id)
        await repository.delete_item(session, item)


async def _existing_item(session: AsyncSession, item_id: int) -> Item:
    item = await repository.get_item(session, item_id)
    if item is None:
        raise ItemNotFoundError(item_id)
    return item


def _found(items: dict[int, Item], item_id: int) -> Item:
    item = items.get(item_id)
    if item is None:
        raise ItemNotFoundError(item_id)
    return item
