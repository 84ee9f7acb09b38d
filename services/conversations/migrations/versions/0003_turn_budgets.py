"""Per-user turn limits: the send token bucket and an index of running replies per user.

`send_budgets` holds one row per user who has sent (tokens left at `updated_at`; the
refill is computed from the elapsed time, so nothing ticks). The partial index lets
StartTurn count one user's in-progress replies without visiting anyone else's.
`turn_refused()` raises the error that refuses a turn (see budgets.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


# Raised by StartTurn's charge (conversations.budgets.CHARGE) to refuse a turn: an error
# aborts the turn's statements pipelined behind it. SQLSTATE CT429; message: the reason
# (busy | rate); detail: Retry-After in seconds.
TURN_REFUSED = """
CREATE FUNCTION turn_refused(reason text, retry_after integer) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'CT429', MESSAGE = reason, DETAIL = retry_after::text;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "send_budgets",
        sa.Column("user_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("tokens", sa.Double, nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index(
        "ix_messages_user_in_progress",
        "messages",
        ["user_id"],
        postgresql_where=sa.text("status = 'in_progress' AND role = 'assistant'"),
    )
    op.execute(TURN_REFUSED)


def downgrade() -> None:
    op.execute("DROP FUNCTION turn_refused(text, integer)")
    op.drop_index("ix_messages_user_in_progress", table_name="messages")
    op.drop_table("send_budgets")
