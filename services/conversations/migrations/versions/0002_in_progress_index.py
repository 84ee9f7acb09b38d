"""Index the in-progress replies by their last write, for the stale reply sweeper.

`messages.updated_at` (NOT NULL DEFAULT now(), moved by every message update) exists
since 0001; the sweeper looks for in-progress rows not written for minutes, a tiny
slice of the table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(
        "ix_messages_in_progress_updated",
        "messages",
        ["updated_at"],
        postgresql_where=sa.text("status = 'in_progress'"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_in_progress_updated", table_name="messages")
