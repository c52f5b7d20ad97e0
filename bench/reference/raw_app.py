"""Raw reference for bench/load.py: Starlette on the raw async driver, the same queries.

    RAW_DATABASE=postgres|mysql|sqlite RAW_DSN=... uvicorn raw_app:app

RAW_DSN is an asyncpg DSN (postgresql://user@host:port/db), a MySQL one
(mysql://user@host:port/db) or a SQLite file path. RAW_POOL connections (default 10, the
generated services' pool size). No ORM, no validation beyond what the queries need, one
statement per request (two for a page: the rows and the total), each its own transaction
(autocommit), results serialised straight from the driver's rows. An order is one
transaction, as in the service: lock its items in id order, check the stock, take it, insert
the order and its lines.
"""

import asyncio
import json
import os
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DATABASE = os.environ.get("RAW_DATABASE", "postgres")
DSN = os.environ["RAW_DSN"]
POOL = int(os.environ.get("RAW_POOL", "10"))


class Refused(Exception):
    """An order that cannot be placed: (status, detail); its transaction is rolled back."""


def check_stock(lines: list[tuple[int, int]], stock: dict[int, int]) -> None:
    for item_id, quantity in lines:
        if item_id not in stock:
            raise Refused(404, f"Item {item_id} not found.")
        if stock[item_id] < quantity:
            raise Refused(409, f"Insufficient stock for item {item_id}.")


class Database:
    """One small interface over the three drivers: fetch rows, fetch one row, execute."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class Postgres(Database):
    async def start(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(DSN, min_size=POOL, max_size=POOL)

    async def stop(self) -> None:
        await self.pool.close()

    async def get(self, item_id: int) -> Any:
        return await self.pool.fetchrow(
            "SELECT id, name, quantity FROM items WHERE id = $1", item_id
        )

    async def page(self, offset: int, limit: int) -> tuple[list[Any], int]:
        async with self.pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT id, name, quantity FROM items ORDER BY id LIMIT $1 OFFSET $2",
                limit,
                offset,
            )
            total = await connection.fetchval("SELECT count(*) FROM items")
        return rows, total

    async def create(self, name: str, quantity: int) -> Any:
        return await self.pool.fetchrow(
            "INSERT INTO items (name, quantity) VALUES ($1, $2) RETURNING id, name, quantity",
            name,
            quantity,
        )

    async def update(self, item_id: int, quantity: int) -> Any:
        return await self.pool.fetchrow(
            "UPDATE items SET quantity = $1 WHERE id = $2 RETURNING id, name, quantity",
            quantity,
            item_id,
        )

    async def place_order(self, lines: list[tuple[int, int]]) -> int:
        async with self.pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(
                "SELECT id, quantity FROM items WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE",
                sorted(item_id for item_id, _ in lines),
            )
            check_stock(lines, {row[0]: row[1] for row in rows})
            await connection.executemany(
                "UPDATE items SET quantity = quantity - $1 WHERE id = $2",
                [(quantity, item_id) for item_id, quantity in lines],
            )
            order_id: int = await connection.fetchval(
                "INSERT INTO orders (status) VALUES ('placed') RETURNING id"
            )
            await connection.executemany(
                "INSERT INTO order_lines (order_id, item_id, quantity) VALUES ($1, $2, $3)",
                [(order_id, item_id, quantity) for item_id, quantity in lines],
            )
        return order_id


class MySQL(Database):
    async def start(self) -> None:
        import aiomysql

        url = urlsplit(DSN)
        self.pool = await aiomysql.create_pool(
            host=url.hostname,
            port=url.port or 3306,
            user=url.username,
            password=url.password or "",
            db=url.path.lstrip("/"),
            minsize=POOL,
            maxsize=POOL,
            autocommit=True,
            charset="utf8mb4",
        )

    async def stop(self) -> None:
        self.pool.close()
        await self.pool.wait_closed()

    async def _run(self, *statements: tuple[str, tuple[Any, ...]]) -> list[Any]:
        results = []
        async with self.pool.acquire() as connection, connection.cursor() as cursor:
            for sql, args in statements:
                await cursor.execute(sql, args)
                results.append((await cursor.fetchall(), cursor.lastrowid))
        return results

    async def get(self, item_id: int) -> Any:
        [(rows, _)] = await self._run(
            ("SELECT id, name, quantity FROM items WHERE id = %s", (item_id,))
        )
        return rows[0] if rows else None

    async def page(self, offset: int, limit: int) -> tuple[list[Any], int]:
        (rows, _), (count, _) = await self._run(
            (
                "SELECT id, name, quantity FROM items ORDER BY id LIMIT %s OFFSET %s",
                (limit, offset),
            ),
            ("SELECT count(*) FROM items", ()),
        )
        return list(rows), count[0][0]

    async def create(self, name: str, quantity: int) -> Any:
        [(_, item_id)] = await self._run(
            ("INSERT INTO items (name, quantity) VALUES (%s, %s)", (name, quantity))
        )
        return (item_id, name, quantity)

    async def update(self, item_id: int, quantity: int) -> Any:
        # MariaDB has no UPDATE ... RETURNING: update, then read the row, in one connection.
        _, (rows, _) = await self._run(
            ("UPDATE items SET quantity = %s WHERE id = %s", (quantity, item_id)),
            ("SELECT id, name, quantity FROM items WHERE id = %s", (item_id,)),
        )
        return rows[0] if rows else None

    async def place_order(self, lines: list[tuple[int, int]]) -> int:
        ids = sorted(item_id for item_id, _ in lines)
        async with self.pool.acquire() as connection:
            await connection.begin()
            try:
                async with connection.cursor() as cursor:
                    await cursor.execute(
                        "SELECT id, quantity FROM items WHERE id IN "
                        f"({', '.join(['%s'] * len(ids))}) ORDER BY id FOR UPDATE",
                        ids,
                    )
                    check_stock(lines, {row[0]: row[1] for row in await cursor.fetchall()})
                    await cursor.executemany(
                        "UPDATE items SET quantity = quantity - %s WHERE id = %s",
                        [(quantity, item_id) for item_id, quantity in lines],
                    )
                    await cursor.execute("INSERT INTO orders (status) VALUES ('placed')")
                    order_id: int = cursor.lastrowid
                    await cursor.executemany(
                        "INSERT INTO order_lines (order_id, item_id, quantity) VALUES (%s, %s, %s)",
                        [(order_id, item_id, quantity) for item_id, quantity in lines],
                    )
                await connection.commit()
            except BaseException:
                await connection.rollback()
                raise
        return order_id


class SQLite(Database):
    async def start(self) -> None:
        import aiosqlite

        self.connections: asyncio.Queue[Any] = asyncio.Queue()
        for _ in range(POOL):
            connection = await aiosqlite.connect(DSN, isolation_level=None)
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA busy_timeout=30000")
            self.connections.put_nowait(connection)

    async def stop(self) -> None:
        while not self.connections.empty():
            await self.connections.get_nowait().close()

    async def _run(self, *statements: tuple[str, tuple[Any, ...]]) -> list[Any]:
        connection = await self.connections.get()
        try:
            results = []
            for sql, args in statements:
                async with connection.execute(sql, args) as cursor:
                    results.append(await cursor.fetchall())
            return results
        finally:
            self.connections.put_nowait(connection)

    async def get(self, item_id: int) -> Any:
        [rows] = await self._run(("SELECT id, name, quantity FROM items WHERE id = ?", (item_id,)))
        return rows[0] if rows else None

    async def page(self, offset: int, limit: int) -> tuple[list[Any], int]:
        rows, count = await self._run(
            ("SELECT id, name, quantity FROM items ORDER BY id LIMIT ? OFFSET ?", (limit, offset)),
            ("SELECT count(*) FROM items", ()),
        )
        return rows, count[0][0]

    async def create(self, name: str, quantity: int) -> Any:
        [rows] = await self._run(
            (
                "INSERT INTO items (name, quantity) VALUES (?, ?) RETURNING id, name, quantity",
                (name, quantity),
            )
        )
        return rows[0]

    async def update(self, item_id: int, quantity: int) -> Any:
        [rows] = await self._run(
            (
                "UPDATE items SET quantity = ? WHERE id = ? RETURNING id, name, quantity",
                (quantity, item_id),
            )
        )
        return rows[0] if rows else None

    async def place_order(self, lines: list[tuple[int, int]]) -> int:
        ids = sorted(item_id for item_id, _ in lines)
        connection = await self.connections.get()
        try:
            # The write lock first, as the service takes it (BEGIN IMMEDIATE).
            await connection.execute("BEGIN IMMEDIATE")
            try:
                async with connection.execute(
                    f"SELECT id, quantity FROM items WHERE id IN ({', '.join('?' * len(ids))})",
                    ids,
                ) as cursor:
                    check_stock(lines, {row[0]: row[1] for row in await cursor.fetchall()})
                await connection.executemany(
                    "UPDATE items SET quantity = quantity - ? WHERE id = ?",
                    [(quantity, item_id) for item_id, quantity in lines],
                )
                async with connection.execute(
                    "INSERT INTO orders (status) VALUES ('placed') RETURNING id"
                ) as cursor:
                    order_id: int = (await cursor.fetchone())[0]
                await connection.executemany(
                    "INSERT INTO order_lines (order_id, item_id, quantity) VALUES (?, ?, ?)",
                    [(order_id, item_id, quantity) for item_id, quantity in lines],
                )
                await connection.execute("COMMIT")
            except BaseException:
                await connection.execute("ROLLBACK")
                raise
            return order_id
        finally:
            self.connections.put_nowait(connection)


db: Any = {"postgres": Postgres, "mysql": MySQL, "sqlite": SQLite}[DATABASE]()


def item(row: Any) -> dict[str, Any]:
    return {"id": row[0], "name": row[1], "quantity": row[2]}


def not_found(item_id: int) -> Response:
    return JSONResponse({"detail": f"Item {item_id} not found."}, status_code=404)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def get_item(request: Request) -> Response:
    item_id = request.path_params["item_id"]
    row = await db.get(item_id)
    return JSONResponse(item(row)) if row else not_found(item_id)


async def list_items(request: Request) -> Response:
    page = int(request.query_params.get("page", 1))
    page_size = int(request.query_params.get("page_size", 20))
    rows, total = await db.page((page - 1) * page_size, page_size)
    return JSONResponse(
        {"items": [item(r) for r in rows], "page": page, "page_size": page_size, "total": total}
    )


async def create_item(request: Request) -> Response:
    data = json.loads(await request.body())
    row = await db.create(data["name"], data.get("quantity", 0))
    return JSONResponse(item(row), status_code=201)


async def update_item(request: Request) -> Response:
    item_id = request.path_params["item_id"]
    data = json.loads(await request.body())
    row = await db.update(item_id, data["quantity"])
    return JSONResponse(item(row)) if row else not_found(item_id)


async def place_order(request: Request) -> Response:
    data = json.loads(await request.body())
    lines = [(line["item_id"], line["quantity"]) for line in data["lines"]]
    try:
        order_id = await db.place_order(lines)
    except Refused as refused:
        status, detail = refused.args
        return JSONResponse({"detail": detail}, status_code=status)
    body = {
        "id": order_id,
        "status": "placed",
        "lines": [{"item_id": item_id, "quantity": quantity} for item_id, quantity in lines],
    }
    return JSONResponse(body, status_code=201)


@asynccontextmanager
async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
    await db.start()
    yield
    await db.stop()


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/items", list_items, methods=["GET"]),
        Route("/items", create_item, methods=["POST"]),
        Route("/items/{item_id:int}", get_item, methods=["GET"]),
        Route("/items/{item_id:int}", update_item, methods=["PATCH"]),
        Route("/orders", place_order, methods=["POST"]),
    ],
    lifespan=lifespan,
)
