"""`python -m conversations.migrate`: brings the database schema to the latest revision.

Safe to run from several processes at once (env.py takes a Postgres advisory lock);
uses its own version table, `alembic_version_conversations`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from chat_common.logs import configure_logging
from chat_common.redact import describe, redact
from chat_common.settings import async_database_url
from pydantic import ValidationError

from conversations.settings import get_settings

log = logging.getLogger(__name__)

# services/conversations/migrations (this file is services/conversations/src/conversations/).
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", async_database_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Blocking: call it from a thread when an event loop is running (it runs its own)."""
    command.upgrade(alembic_config(database_url), revision)


def main() -> None:
    try:
        settings = get_settings()
    except ValidationError as exc:
        # Only where and what: pydantic's own message quotes the value (the password).
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        sys.exit(f"conversations.migrate: invalid settings: {problems}")
    configure_logging("conversations-migrate", settings.log_level)
    try:
        upgrade(settings.database_url)
    except Exception as exc:
        # No traceback: its frames and messages may quote the URL, password and all.
        sys.exit(f"conversations.migrate: failed: {redact(describe(exc), settings.database_url)}")
    log.info("conversations schema is current")


if __name__ == "__main__":
    main()
