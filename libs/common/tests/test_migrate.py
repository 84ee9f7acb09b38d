"""The shared migration runner's layout: each service's migrations beside its `src/`,
under a lock and a version table of its own (the runs themselves are tested per service:
services/*/tests/test_process.py, test_migrate_secrets.py)."""

from __future__ import annotations

from chat_common.migrate import Migrations


def test_each_service_migrates_under_its_own_lock_and_version_table() -> None:
    auth = Migrations.of("auth", "/repo/services/auth/src/auth/migrate.py")
    conversations = Migrations.of("conversations", "/repo/services/x/src/x/migrate.py")
    assert auth.lock_key != conversations.lock_key
    assert auth.version_table == "alembic_version_auth"
    assert str(auth.directory) == "/repo/services/auth/migrations"
