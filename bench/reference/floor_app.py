"""The stack's floor for bench/cost.py: FastAPI and SQLAlchemy's async ORM, nothing else.

    DATABASE_URL=postgresql+asyncpg://... python bench/inprocess.py floor_app:app get

GET /items/{item_id} and POST /items in the shape of FastAPI's SQL tutorial: one generator
dependency that yields an AsyncSession, `session.get` for a read, `add` + `commit` for a write,
the same pydantic response model. It leaves out everything the generated service adds around
that: the capacity slot, the read-only mode, metrics, the log line, the request id, error
mapping, database timeouts, dead-connection checks. Run with the baked service's own
environment (the same FastAPI, SQLAlchemy and driver), so the difference between the two is the
template's, and the difference between this and the raw reference is the stack's.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict
from sqlalchemy import String
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=10, max_overflow=0)
session_factory = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    quantity: Mapped[int]


class ItemCreate(BaseModel):
    name: str
    quantity: int = 0


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    quantity: int


async def get_session() -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.get("/items/{item_id}", response_model=ItemRead)
async def get_item(item_id: int, session: SessionDep) -> Item:
    item = await session.get(Item, item_id)
    if item is None:
        raise HTTPException(status_code=404, detail="Item not found")
    return item


@app.post("/items", status_code=201, response_model=ItemRead)
async def create_item(data: ItemCreate, session: SessionDep) -> Item:
    item = Item(name=data.name, quantity=data.quantity)
    session.add(item)
    await session.commit()
    return item
