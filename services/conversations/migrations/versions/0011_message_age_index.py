"""Index messages by creation time, for the per-message retention purge.

With `MESSAGE_RETENTION_DAYS` > 0 the purge (retention.py) deletes every message older
than that, in batches: this index finds the oldest ones without scanning the table.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_messages_created", "messages", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_created", table_name="messages")
