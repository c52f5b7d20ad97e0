"""Orders belong to the principal that placed them: orders.owner, the token's `sub`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Orders placed before access control get the empty owner, which no token's `sub` is: they
    # are nobody's until an operator assigns them. The column keeps that default (see models).
    op.add_column(
        "orders",
        sa.Column("owner", sa.String(length=255), server_default="", nullable=False),
    )
    op.create_index("ix_orders_owner", "orders", ["owner"])


def downgrade() -> None:
    op.drop_index("ix_orders_owner", table_name="orders")
    op.drop_column("orders", "owner")
