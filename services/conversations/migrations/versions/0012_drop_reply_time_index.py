"""Drop the index of one user's replies by time (migration 0006).

It served the usage ledger and the tokens-per-day quota, which read `usage_days` since
migration 0010; every assistant insert still paid for it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.drop_index("ix_messages_user_created", table_name="messages")


def downgrade() -> None:
    op.create_index(
        "ix_messages_user_created",
        "messages",
        ["user_id", "created_at"],
        postgresql_where=sa.text("role = 'assistant'"),
    )
