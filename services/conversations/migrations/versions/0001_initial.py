"""Conversations and messages.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("metadata", JSONB, nullable=True),
        *_timestamps(),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    )
    # The list query: a user's live conversations, newest first, keyset on (updated_at, id).
    op.create_index(
        "ix_conversations_user_updated",
        "conversations",
        ["user_id", sa.text("updated_at DESC"), sa.text("id DESC")],
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "messages",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        # Strict order within a conversation, even for rows written in the same millisecond.
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column(
            "conversation_id",
            UUID(as_uuid=True),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("role", sa.String, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("tool_calls", JSONB, nullable=True),
        sa.Column("payload", JSONB, nullable=True),
        sa.Column("input_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("output_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("reply_to", UUID(as_uuid=True), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("conversation_id", "idempotency_key", name="uq_messages_idempotency"),
        sa.CheckConstraint(
            "role IN ('user', 'assistant', 'tool', 'system')", name="ck_messages_role"
        ),
        sa.CheckConstraint(
            "status IN ('complete', 'in_progress', 'interrupted', 'failed')",
            name="ck_messages_status",
        ),
    )
    # History: a conversation's messages in order (and the seq of a before/after anchor).
    op.create_index(
        "ix_messages_conversation_seq", "messages", ["conversation_id", "seq"], unique=True
    )


def downgrade() -> None:
    op.drop_table("messages")
    op.drop_table("conversations")
