"""The usage ledger: which model each reply's usage is of, and the index that reads one
user's replies by time.

`messages.model` is set with the reply's final usage (the agent's OPENAI_MODEL); older
replies keep NULL (shown as an unknown model). `ix_messages_user_created` serves the
usage route (`GET /api/chat/usage`: a user's replies in a date range, aggregated on read)
and the tokens-per-day quota at StartTurn (today's replies of one user).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("model", sa.Text, nullable=True))
    op.create_index(
        "ix_messages_user_created",
        "messages",
        ["user_id", "created_at"],
        postgresql_where=sa.text("role = 'assistant'"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_user_created", table_name="messages")
    op.drop_column("messages", "model")
