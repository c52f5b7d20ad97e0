"""The service's tables, as its models declare them, and the one way the suite empties them."""

from fastapi import FastAPI

from {{ cookiecutter.project_slug }}.database.base import load_all_models

from .database import execute, open_engine

# Children before parents: a row is deleted after the rows that refer to it. load_all_models
# imports every resource's models first, so a new resource's tables are here without a change.
EMPTY_EVERY_TABLE = tuple(
    f"DELETE FROM {table.name}" for table in reversed(load_all_models().sorted_tables)
)


async def empty_tables(app: FastAPI) -> None:
    """Delete every row of every table through the app's engine, in one transaction."""
    await execute(app.state.engine, *EMPTY_EVERY_TABLE)


async def empty_database(database_url: str) -> None:
    """The same on an engine of its own, for a test that holds no app of its own (or whose app
    runs on another event loop)."""
    async with open_engine(database_url) as engine:
        await execute(engine, *EMPTY_EVERY_TABLE)
