"""The unit-of-work layer: each function is one transaction, and the only place that commits.

Convention (flush-commit): data access in `repository.py` adds and flushes, so the database
checks every step as it happens; each function here commits once, at its end, before the
response is built. Any exception before the commit leaves the transaction to `get_session`,
which rolls it back.
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
    item = await repository.add_item(session, data)
    await session.commit()
    return item


async def create_items(session: AsyncSession, rows: Sequence[ItemCreate]) -> list[Item]:
    items = await repository.insert_items(session, rows)
    await session.commit()
    return items


async def get_item(session: AsyncSession, item_id: int) -> Item:
    await begin_read_only(session)
    item = await _existing_item(session, item_id)
    # Ending the read-only unit of work returns the connection before the response is built.
    await session.commit()
    return item


async def list_items(session: AsyncSession, *, page: int, page_size: int) -> ItemPage:
    offset = offset_of(page, page_size)
    await begin_read_only(session)
    items = await repository.list_items(session, offset=offset, limit=page_size)
    total = await repository.count_items(session)
    await session.commit()
    return ItemPage(
        items=[ItemRead.model_validate(item) for item in items],
        page=page,
        page_size=page_size,
        total=total,
    )


async def update_item(session: AsyncSession, item_id: int, changes: ItemUpdate) -> Item:
    item = await _existing_item(session, item_id)
    await repository.update_item(session, item, changes)
    await session.commit()
    return item


async def adjust_quantities(session: AsyncSession, *, name_prefix: str, delta: int) -> int:
    updated = await repository.adjust_quantities(session, name_prefix=name_prefix, delta=delta)
    await session.commit()
    return updated


async def transfer_quantity(session: AsyncSession, source_id: int, transfer: Transfer) -> Item:
    """Move stock between two items: both changes are stored, or neither."""
    items = await repository.lock_items(session, [source_id, transfer.to_item_id])
    source = _found(items, source_id)
    await repository.add_to_quantity(session, source.id, -transfer.quantity)
    # The decrement is already sent to the database; a missing target rolls it back.
    target = _found(items, transfer.to_item_id)
    await repository.add_to_quantity(session, target.id, transfer.quantity)
    await repository.reload_quantity(session, source)
    await session.commit()
    return source


async def delete_item(session: AsyncSession, item_id: int) -> None:
    item = await _existing_item(session, item_id)
    await repository.delete_item(session, item)
    await session.commit()


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
