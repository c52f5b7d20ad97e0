"""The unit-of-work layer: each function is one transaction, and the only place that commits.

Convention (flush-commit): data access in `repository.py` adds and flushes, so the database
checks every step as it happens; each function here commits once, at its end, before the
response is built. Any exception before the commit leaves the transaction to `get_session`,
which rolls it back.

A write that takes an idempotency key claims it first, in the same transaction
(idempotency/claims.py): the key, the effect and the response to replay are committed together.
A write to an existing row checks the client's `If-Match` against the row it loaded; the
versioned UPDATE checks again.
"""

from collections.abc import Sequence

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from ..database.session import begin_read_only
from ..idempotency.claims import Outcome, claim
from ..idempotency.keys import RequestKey
from ..kit.pagination import offset_of
from ..kit.versions import VersionCondition
from . import repository
from .errors import ItemNotFoundError
from .models import Item
from .schemas import AdjustmentResult, ItemCreate, ItemPage, ItemRead, ItemUpdate, Transfer

# How each keyed operation's response is stored for replay.
ITEM = TypeAdapter(ItemRead)
ITEMS = TypeAdapter(list[ItemRead])
ADJUSTMENT = TypeAdapter(AdjustmentResult)


async def create_item(
    session: AsyncSession, data: ItemCreate, *, key: RequestKey | None = None
) -> Outcome[ItemRead]:
    claimed = await claim(session, key, ITEM)
    if claimed.replay is None:
        item = await repository.add_item(session, data)
        claimed.remember(ItemRead.model_validate(item))
    await session.commit()
    return claimed.outcome


async def create_items(
    session: AsyncSession, rows: Sequence[ItemCreate], *, key: RequestKey | None = None
) -> Outcome[list[ItemRead]]:
    claimed = await claim(session, key, ITEMS)
    if claimed.replay is None:
        items = await repository.insert_items(session, rows)
        claimed.remember([ItemRead.model_validate(item) for item in items])
    await session.commit()
    return claimed.outcome


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


async def update_item(
    session: AsyncSession, item_id: int, changes: ItemUpdate, *, condition: VersionCondition
) -> Item:
    item = await _existing_item(session, item_id, for_update=True)
    condition.check("Item", item.id, item.version)
    await repository.update_item(session, item, changes)
    await session.commit()
    return item


async def adjust_quantities(
    session: AsyncSession, *, name_prefix: str, delta: int, key: RequestKey | None = None
) -> Outcome[AdjustmentResult]:
    claimed = await claim(session, key, ADJUSTMENT)
    if claimed.replay is None:
        updated = await repository.adjust_quantities(session, name_prefix=name_prefix, delta=delta)
        claimed.remember(AdjustmentResult(updated=updated))
    await session.commit()
    return claimed.outcome


async def transfer_quantity(
    session: AsyncSession,
    source_id: int,
    transfer: Transfer,
    *,
    condition: VersionCondition,
    key: RequestKey | None = None,
) -> Outcome[ItemRead]:
    """Move stock between two items: both changes are stored, or neither. `condition` is the
    source item's (the one the path names)."""
    claimed = await claim(session, key, ITEM)
    if claimed.replay is None:
        items = await repository.lock_items(session, [source_id, transfer.to_item_id])
        source = _found(items, source_id)
        condition.check("Item", source.id, source.version)
        await repository.add_to_quantity(session, source.id, -transfer.quantity)
        # The decrement is already sent to the database; a missing target rolls it back.
        target = _found(items, transfer.to_item_id)
        await repository.add_to_quantity(session, target.id, transfer.quantity)
        await repository.reload_quantity(session, source)
        claimed.remember(ItemRead.model_validate(source))
    await session.commit()
    return claimed.outcome


async def delete_item(session: AsyncSession, item_id: int, *, condition: VersionCondition) -> None:
    item = await _existing_item(session, item_id, for_update=True)
    condition.check("Item", item.id, item.version)
    await repository.delete_item(session, item)
    await session.commit()


async def _existing_item(
    session: AsyncSession,
    item_id: int,
    *,
    for_update: bool = False,
) -> Item:
    item = await repository.get_item(session, item_id, for_update=for_update)
    if item is None:
        raise ItemNotFoundError(item_id)
    return item


def _found(items: dict[int, Item], item_id: int) -> Item:
    item = items.get(item_id)
    if item is None:
        raise ItemNotFoundError(item_id)
    return item
