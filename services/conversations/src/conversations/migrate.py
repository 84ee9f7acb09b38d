"""`python -m conversations.migrate`: the conversations tables at the newest migration,
version table `alembic_version_conversations` (chat_common.migrate: concurrent runs wait
for each other)."""

from __future__ import annotations

from chat_common.migrate import Migrations

MIGRATIONS = Migrations.of("conversations", __file__)
alembic_config, upgrade = MIGRATIONS.config, MIGRATIONS.upgrade  # for tests and tools

if __name__ == "__main__":
    MIGRATIONS.main()
