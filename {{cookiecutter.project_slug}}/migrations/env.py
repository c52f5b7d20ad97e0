"""Alembic environment: migrations run through the service's own database settings, one at a
time however many replicas start at once (see do_run_migrations)."""

import asyncio
import contextlib

from alembic import context
from alembic.util import CommandError
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine

from {{ cookiecutter.project_slug }}.database.base import load_all_models
from {{ cookiecutter.project_slug }}.database.dialect import engine_options, migration_lock
from {{ cookiecutter.project_slug }}.settings import get_settings

target_metadata = load_all_models()


def database_url() -> str:
    """The URL a caller handed to Alembic (the tests do), else the service's own setting."""
    url = context.config.attributes.get("database_url")
    return url if isinstance(url, str) else get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    """Migrate under the migration lock: when many replicas start at once, the first migrates,
    the others wait for it, then find the schema at head and do nothing (Alembic reads the
    current revision only after the lock is taken)."""
    timeout = get_settings().migration_lock_timeout
    # `alembic -x migration_lock=off upgrade head` migrates without the lock: only the test that
    # shows what the lock prevents does that.
    locked = context.get_x_argument(as_dictionary=True).get("migration_lock") != "off"
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        try:
            with migration_lock(connection, timeout) if locked else contextlib.nullcontext():
                context.run_migrations()
        except TimeoutError:
            # Alembic prints a CommandError as one line, and exits with a failure status.
            raise CommandError(
                f"Another migration has held the migration lock for more than {timeout:g} s "
                "(MIGRATION_LOCK_TIMEOUT); not migrating. Is a replica's migration stuck? Retry, "
                "or raise MIGRATION_LOCK_TIMEOUT."
            ) from None


async def run_migrations_online() -> None:
    # A throwaway engine without a pool: migrations run once and exit.
    # Behind a transaction pooler, migrations need the service's pooler-safe driver options too.
    engine = create_async_engine(
        database_url(),
        poolclass=pool.NullPool,
        **engine_options(get_settings()),
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
