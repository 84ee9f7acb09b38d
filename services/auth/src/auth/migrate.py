"""`python -m auth.migrate`: the auth tables at the newest migration, version table
`alembic_version_auth` (chat_common.migrate: concurrent runs wait for each other)."""

from __future__ import annotations

from chat_common.migrate import Migrations

MIGRATIONS = Migrations.of("auth", __file__)
alembic_config, upgrade = MIGRATIONS.config, MIGRATIONS.upgrade  # for tests and tools

if __name__ == "__main__":
    MIGRATIONS.main()
