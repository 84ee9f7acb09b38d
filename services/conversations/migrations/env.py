"""Alembic environment of the conversations service: its own version table, and the
advisory lock of chat_common.migrate, so concurrent `migrate` runs wait for each other
instead of racing (the later one then finds the schema current)."""

from __future__ import annotations

import conversations.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from conversations.migrate import MIGRATIONS
from sqlmodel import SQLModel

MIGRATIONS.run_environment(SQLModel.metadata)
