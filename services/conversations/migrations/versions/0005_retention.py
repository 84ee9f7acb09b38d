"""Index the soft-deleted conversations by their deletion time, for the retention purge.

`retention.py` looks for conversations deleted more than N days ago (and, with message
retention, idle ones it has just soft-deleted); they are a small slice of the table, so a
partial index on `deleted_at` finds them without reading the live ones.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-16
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(
        "ix_conversations_deleted",
        "conversations",
        ["deleted_at"],
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_deleted", table_name="conversations")
