"""Alembic migrations, run one way by every service that has tables.

A service describes its migrations once (`MIGRATIONS = Migrations.of(name, __file__)` in
its `migrate.py`); `python -m <service>.migrate` calls `main()` and the service's
`migrations/env.py` calls `run_environment()`, so the Alembic CLI takes the same path.

- Safe to run from several processes at once: a session-level Postgres advisory lock,
  keyed per service, serialises them (the later one then finds the schema current),
  while another service's migrations in the same database go on beside them (own lock,
  own version table).
- Migrating needs only `DATABASE_URL`, never the service's keys or secrets.
- A failure is one line with the password masked: no traceback, whose frames and
  messages may quote the URL, password and all.

Needs alembic and SQLAlchemy (with psycopg 3), which the services with tables depend on.
"""

from __future__ import annotations

import logging
import sys
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Connection, MetaData, create_engine, text
from sqlalchemy.pool import NullPool

from chat_common.logs import configure_logging
from chat_common.redact import describe, redact
from chat_common.serve import explain
from chat_common.settings import async_database_url

log = logging.getLogger(__name__)

# Alembic's `include_object` hook: whether autogenerate compares a table, index, ...
IncludeObject = Callable[[Any, str | None, str, bool, Any], bool]


class MigrateSettings(BaseSettings):
    # Only the database: migrating must not need the service's keys or secrets.
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    database_url: str = Field(min_length=1)
    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        async_database_url(value)  # raises a clear ValueError for anything but Postgres
        return value


@dataclass(frozen=True, slots=True)
class Migrations:
    """One service's migrations: where they live and which version table they keep."""

    service: str
    directory: Path
    version_table: str

    @classmethod
    def of(cls, service: str, module_file: str) -> Migrations:
        """The layout every service keeps: `services/<name>/migrations` beside the `src/`
        that holds `module_file` (its `migrate.py`), version table `alembic_version_<name>`.
        """
        directory = Path(module_file).resolve().parents[2] / "migrations"
        return cls(service, directory, f"alembic_version_{service}")

    @property
    def lock_key(self) -> int:
        return zlib.crc32(f"chatkit {self.service} migrations".encode())

    def config(self, database_url: str) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.directory))
        # Alembic keeps options in a ConfigParser, which reads "%" as interpolation: a
        # percent-encoded password (p%40ss) must be doubled to come back out unchanged.
        url = async_database_url(database_url).replace("%", "%%")
        config.set_main_option("sqlalchemy.url", url)
        return config

    def head(self) -> str:
        """The newest revision in this service's migrations folder."""
        head = ScriptDirectory(str(self.directory)).get_current_head()
        if head is None:
            raise RuntimeError(f"{self.service}: no migrations in {self.directory}")
        return head

    def upgrade(self, database_url: str, revision: str = "head") -> None:
        """Blocking (a synchronous driver): no event loop of its own, none needed."""
        config = self.config(database_url)
        with self.locked_connection(database_url) as connection:
            config.attributes["connection"] = connection  # run_environment() uses it
            command.upgrade(config, revision)

    @contextmanager
    def locked_connection(self, database_url: str) -> Iterator[Connection]:
        """A connection holding this service's migration lock until the block ends."""
        engine = create_engine(async_database_url(database_url), poolclass=NullPool)
        key = {"key": self.lock_key}
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
                connection.commit()  # the lock is per session: it outlives this transaction
                try:
                    yield connection
                    connection.commit()
                finally:
                    connection.rollback()
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
                    connection.commit()
        finally:
            engine.dispose()

    def main(self) -> None:
        """`python -m <service>.migrate`: the tables at the newest migration, or exit 1."""
        name = f"{self.service}.migrate"
        try:
            settings = MigrateSettings()  # DATABASE_URL from the env
        except ValidationError as exc:
            sys.exit(f"{name}: invalid settings: {explain(exc)}")
        configure_logging(f"{self.service}-migrate", settings.log_level)
        try:
            self.upgrade(settings.database_url)
        except Exception as exc:
            sys.exit(f"{name}: failed: {redact(describe(exc), settings.database_url)}")
        log.info("%s tables are at the newest migration", self.service)

    def run_environment(
        self, metadata: MetaData, *, include_object: IncludeObject | None = None
    ) -> None:
        """The body of the service's `migrations/env.py`: the connection `upgrade()` gave,
        else (the Alembic CLI) one of its own under the same lock."""
        options: dict[str, Any] = {
            "target_metadata": metadata,
            "version_table": self.version_table,
            "include_object": include_object,
            "compare_type": True,
        }
        given = context.config.attributes.get("connection")
        if given is not None:
            _migrate(options, connection=given)
            return
        url = context.config.get_main_option("sqlalchemy.url") or _database_url()
        if context.is_offline_mode():  # SQL to read, not run: nothing to lock
            _migrate(options, url=url, literal_binds=True)
            return
        with self.locked_connection(url) as connection:
            _migrate(options, connection=connection)


def _migrate(options: dict[str, Any], **target: Any) -> None:
    context.configure(**target, **options)
    with context.begin_transaction():
        context.run_migrations()


def _database_url() -> str:
    """For the Alembic CLI, which is given no URL: DATABASE_URL, as the services read it."""
    settings = MigrateSettings()  # DATABASE_URL from the env
    return async_database_url(settings.database_url)
