"""The stack's floor for bench/cost.py: FastAPI and SQLAlchemy's ORM, nothing else.

    DATABASE_URL=postgresql+asyncpg://... python bench/inprocess.py floor_app:app get

GET /items/{item_id} and POST /items in the shape of FastAPI's SQL tutorial: one generator
dependency that yields a session, `session.get` for a read, `add` + `commit` for a write, the
same pydantic response model. With an async driver in DATABASE_URL (asyncpg, aiomysql,
aiosqlite) the endpoints are `async def` on an AsyncSession; with a sync one (psycopg, pymysql,
pysqlite) they are `def` on a Session, in FastAPI's threadpool, as the sync services' are.

It leaves out everything the generated service adds around that: the capacity slot, the
read-only mode, metrics, the log line, the request id, error mapping, database timeouts,
dead-connection checks. Run with the baked service's own environment (the same FastAPI,
SQLAlchemy and driver), so the difference between the two is the template's, and the difference
between this and the raw reference is the stack's.
"""

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict
from sqlalchemy import String, create_engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

URL = make_url(os.environ["DATABASE_URL"])
ASYNC = URL.get_dialect().is_async
POOL = {"pool_size": 10, "max_overflow": 0} if URL.get_backend_name() != "sqlite" else {}


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


def health() -> dict[str, str]:
    """What the benchmarks wait for before they load the app (no database)."""
    return {"status": "ok"}


def not_found() -> HTTPException:
    return HTTPException(status_code=404, detail="Item not found")


if ASYNC:
    # Imported here: sync services have no greenlet, which SQLAlchemy's asyncio needs.
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

    async_engine = create_async_engine(URL, **POOL)
    async_factory = async_sessionmaker(async_engine, expire_on_commit=False)

    async def get_async_session() -> AsyncIterator[AsyncSession]:
        async with async_factory() as session:
            yield session

    AsyncSessionDep = Annotated[AsyncSession, Depends(get_async_session)]

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await async_engine.dispose()

    app = FastAPI(lifespan=lifespan)
    app.get("/health")(health)

    @app.get("/items/{item_id}", response_model=ItemRead)
    async def get_item(item_id: int, session: AsyncSessionDep) -> Item:
        item = await session.get(Item, item_id)
        if item is None:
            raise not_found()
        return item

    @app.post("/items", status_code=201, response_model=ItemRead)
    async def create_item(data: ItemCreate, session: AsyncSessionDep) -> Item:
        item = Item(name=data.name, quantity=data.quantity)
        session.add(item)
        await session.commit()
        return item

else:
    engine = create_engine(URL, **POOL)
    factory = sessionmaker(engine, expire_on_commit=False)

    def get_session() -> Iterator[Session]:
        with factory() as session:
            yield session

    SessionDep = Annotated[Session, Depends(get_session)]

    @asynccontextmanager
    async def sync_lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(lifespan=sync_lifespan)
    app.get("/health")(health)

    @app.get("/items/{item_id}", response_model=ItemRead)
    def get_item_sync(item_id: int, session: SessionDep) -> Item:
        item = session.get(Item, item_id)
        if item is None:
            raise not_found()
        return item

    @app.post("/items", status_code=201, response_model=ItemRead)
    def create_item_sync(data: ItemCreate, session: SessionDep) -> Item:
        item = Item(name=data.name, quantity=data.quantity)
        session.add(item)
        session.commit()
        return item
