"""Message feedback as a column: ChatKit's thumbs up/down (SetFeedback) are data REST
shows on each Message and counts per conversation, without reading the payload (a
ChatKit item, up to tens of KiB) that held them until now. The payload keeps its
`feedback` keys too (the ChatKit store reads them there); existing votes are copied.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-16
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("feedback", sa.String(8), nullable=True))
    op.create_check_constraint(
        "ck_messages_feedback", "messages", "feedback IN ('positive', 'negative')"
    )
    op.execute(
        """
        UPDATE messages SET feedback = payload ->> 'feedback'
        WHERE payload ->> 'feedback' IN ('positive', 'negative')
        """
    )


def downgrade() -> None:
    op.drop_constraint("ck_messages_feedback", "messages", type_="check")
    op.drop_column("messages", "feedback")
