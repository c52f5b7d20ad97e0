"""Ids are never reused: SQLite's items and orders get AUTOINCREMENT.

Without it SQLite gives a new row the highest id in use plus one, so the id of the last item
deleted comes back, and a client that still holds it reads or changes the new item. SQLite sets
AUTOINCREMENT only when a table is created, so both tables are rebuilt (batch mode copies their
rows, ids included).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def tables_at_0003() -> list[sa.Table]:
    """The two tables as revisions 0001 to 0003 made them: batch mode copies them from these,
    not from reflection, which would lose the CHECK constraints' names on SQLite."""
    metadata = sa.MetaData()
    items = sa.Table(
        "items",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity >= 0", name="ck_items_quantity_non_negative"),
        sa.PrimaryKeyConstraint("id", name="pk_items"),
        sa.UniqueConstraint("name", name="uq_items_name"),
    )
    orders = sa.Table(
        "orders",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=255), server_default="", nullable=False),
        # The constraint 0002's Enum made, under the name the naming convention gave it.
        sa.CheckConstraint("status IN ('placed', 'cancelled')", name="ck_orders_order_status"),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.Index("ix_orders_owner", "owner"),
    )
    return [items, orders]


def rebuild(*, autoincrement: bool) -> None:
    # Dropping the old orders table must not cascade to order_lines, whose rows keep referring
    # to the same ids in the rebuilt tables: foreign keys are off on the migration's connection
    # (SQLite's default; env.py sets no PRAGMA, and inside a transaction none would take).
    if op.get_bind().exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("foreign keys are on: rebuilding orders would delete its lines")
    for table in tables_at_0003():
        with op.batch_alter_table(
            table.name,
            copy_from=table,
            recreate="always",
            table_kwargs={"sqlite_autoincrement": autoincrement},
        ):
            pass


def upgrade() -> None:
    rebuild(autoincrement=True)


def downgrade() -> None:
    rebuild(autoincrement=False)
