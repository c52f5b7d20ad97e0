"""Ids are never reused: a deleted row's id is never given to a new one.

This database already guarantees it (its id counters never go back: database/dialect.py's
NEVER_REUSED_IDS), so there is nothing to change; the revision keeps one history across the
databases the template serves.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
