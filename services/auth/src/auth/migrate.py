"""`python -m auth.migrate`: upgrade the auth tables to the newest migration.

Safe to run from several processes at once (a Postgres advisory lock serialises
them), and beside other services' migrations in the same database (own version table).
"""

from __future__ import annotations

import logging
import sys
import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from chat_common.redact import describe, redact
from chat_common.settings import async_database_url
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
VERSION_TABLE = "alembic_version_auth"
LOCK_KEY = zlib.crc32(b"chatkit auth migrations")

log = logging.getLogger(__name__)


class MigrateSettings(BaseSettings):
    # Only the database: migrating must not need the service's keys or secrets.
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")
    database_url: str = Field(min_length=1)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic keeps options in a ConfigParser, which reads "%" as interpolation: a
    # percent-encoded password (p%40ss) must be doubled to come back out unchanged.
    config.set_main_option("sqlalchemy.url", async_database_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    config = alembic_config(database_url)
    engine = create_engine(async_database_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
            conn.commit()  # the lock is per session: it outlives this transaction
            try:
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
                conn.commit()
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s auth.migrate %(message)s")
    try:
        settings = MigrateSettings()  # type: ignore[call-arg]
    except ValidationError:
        sys.exit("auth.migrate: set DATABASE_URL (postgresql://...)")
    try:
        upgrade(settings.database_url)
    except Exception as exc:
        # No traceback: its frames and messages may quote the URL, password and all.
        sys.exit(f"auth.migrate: failed: {redact(describe(exc), settings.database_url)}")
    log.info("auth tables are at the newest migration")


if __name__ == "__main__":
    main()
