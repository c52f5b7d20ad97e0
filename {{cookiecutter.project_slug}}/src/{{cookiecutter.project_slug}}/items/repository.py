"""Data access for items: statements only. These functions add and flush, and never commit:
the transaction belongs to the unit of work in `services.py`."""

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Item
from .schemas import ItemCreate, ItemUpdate


async def add_item(session: AsyncSession, data: ItemCreate) -> Item:
    item = Item(name=data.name, quantity=data.quantity)
    session.add(item)
    await session.flush()
    return item


async def insert_items(session: AsyncSession, rows: Sequence[ItemCreate]) -> list[Item]:
    """Insert all rows with one INSERT statement: the database stores every row or none."""
    await session.execute(insert(Item).values([row.model_dump() for row in rows]))
    names = [row.name for row in rows]
    created = await session.scalars(select(Item).where(Item.name.in_(names)).order_by(Item.id))
    return list(created)


async def lock_items(session: AsyncSession, item_ids: Sequence[int]) -> dict[int, Item]:
    """The items that exist among `item_ids`, locked until the transaction ends (SELECT ... FOR
    UPDATE), in id order: transactions that touch the same rows then queue one behind the other
    instead of deadlocking. A database without row locks renders no FOR UPDATE; the dialect
    module serialises its writers instead (a BEGIN IMMEDIATE for every writing transaction)."""
    items = await session.scalars(
        select(Item)
        .where(Item.id.in_(item_ids))
        .order_by(Item.id)
        .with_for_update()
        # The locking read returns the latest stored stock: it must replace whatever an
        # earlier statement of this session may have loaded.
        .execution_options(populate_existing=True),
    )
    return {item.id: item for item in items}


async def get_item(
    session: AsyncSession,
    item_id: int,
    *,
    for_update: bool = False,
) -> Item | None:
    """The item, if it exists. `for_update`: locked until the transaction ends, and read as
    stored (a write that changes the loaded row): concurrent writes of one item then queue,
    so the versioned UPDATE never finds the row changed under it, and a write without
    If-Match applies to the latest version (the last write wins, rather than a 412)."""
    if not for_update:
        return await session.get(Item, item_id)
    return await session.get(Item, item_id, with_for_update=True, populate_existing=True)


async def list_items(session: AsyncSession, *, offset: int, limit: int) -> list[Item]:
    items = await session.scalars(select(Item).order_by(Item.id).offset(offset).limit(limit))
    return list(items)


async def count_items(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Item)) or 0


async def update_item(session: AsyncSession, item: Item, changes: ItemUpdate) -> Item:
    for field, value in changes.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    await session.flush()
    return item


async def add_to_quantity(session: AsyncSession, item_id: int, delta: int) -> None:
    """Add `delta` in the database itself, so concurrent changes are not lost (lock the row
    first when the new quantity is checked or returned). The version is bumped with it: a
    statement is no versioned ORM flush, so it says so itself, and a client's old ETag no
    longer matches. A loaded Item is not updated: call `reload_quantity` for the stored values."""
    await session.execute(
        update(Item)
        .where(Item.id == item_id)
        .values(quantity=Item.quantity + delta, version=Item.version + 1)
        .execution_options(synchronize_session=False),
    )


async def reload_quantity(session: AsyncSession, item: Item) -> None:
    """The stored quantity and version of `item`, after statements that changed them."""
    await session.refresh(item, ["quantity", "version"])


async def adjust_quantities(session: AsyncSession, *, name_prefix: str, delta: int) -> int:
    """Add `delta` to every item whose name starts with `name_prefix`, and bump their versions;
    one UPDATE statement."""
    result = await session.execute(
        update(Item)
        .where(Item.name.startswith(name_prefix, autoescape=True))
        .values(quantity=Item.quantity + delta, version=Item.version + 1)
        .execution_options(synchronize_session=False),
    )
    return cast("CursorResult[Any]", result).rowcount


async def delete_item(session: AsyncSession, item: Item) -> None:
    await session.delete(item)
    await session.flush()
