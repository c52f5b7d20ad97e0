"""An index on inbox_events.handled_at, for the purge of old entries (purge-events).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_inbox_events_handled_at"), "inbox_events", ["handled_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_inbox_events_handled_at"), table_name="inbox_events")
