"""Full-text search of a user's messages and conversation titles.

Generated `tsvector` columns (of a message's first SEARCHED_CHARS characters; Postgres
keeps them in step with the text, so there is no second index to keep in sync) with GIN
indexes. The text search configuration is read
from `SEARCH_LANGUAGE` when this migration runs (default `simple`: no stemming, no stop
words, so words of any language match) and is fixed in the columns from then on; the
service queries with the same setting. Changing it later means rebuilding the columns
(see the conversations README, "Search").

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import os
import re

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

# How much of a message is searchable. A tsvector holds at most 1 MB, and a long reply or
# tool output full of distinct tokens (1,000,000 characters of ids) would exceed it and
# fail the write itself; 100,000 characters stay under a third of that in the worst cases
# measured (CJK, ids), and hold every user message whole.
SEARCHED_CHARS = 100_000


def _language() -> str:
    """The configuration name, checked before it is written into DDL (a `regconfig`
    literal: Postgres refuses a configuration that does not exist)."""
    language = os.environ.get("SEARCH_LANGUAGE", "simple")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", language):
        raise ValueError(f"SEARCH_LANGUAGE must be a text search configuration name: {language!r}")
    return language


def upgrade() -> None:
    language = _language()
    op.execute(
        "ALTER TABLE messages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS"
        f" (to_tsvector('{language}'::regconfig, left(content, {SEARCHED_CHARS}))) STORED"
    )
    op.execute(
        "ALTER TABLE conversations ADD COLUMN title_vector tsvector GENERATED ALWAYS AS"
        f" (to_tsvector('{language}'::regconfig, coalesce(title, ''))) STORED"
    )
    op.execute("CREATE INDEX ix_messages_search ON messages USING gin (search_vector)")
    op.execute(
        "CREATE INDEX ix_conversations_title_search ON conversations USING gin (title_vector)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_conversations_title_search")
    op.execute("DROP INDEX ix_messages_search")
    op.execute("ALTER TABLE conversations DROP COLUMN title_vector")
    op.execute("ALTER TABLE messages DROP COLUMN search_vector")
