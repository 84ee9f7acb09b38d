"""Alembic environment for the conversations schema (async, psycopg 3).

Its own version table, so it can share a database with other services' migrations,
and a transaction-level advisory lock, so concurrent `migrate` runs wait for each
other instead of racing (the later one then finds the schema current).
"""

from __future__ import annotations

import asyncio

import conversations.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from alembic import context
from conversations.settings import get_settings
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

VERSION_TABLE = "alembic_version_conversations"
# Any fixed 64-bit number unique to this service's migrations.
ADVISORY_LOCK_KEY = 0x636F6E7673  # "convs"


def _url() -> str:
    return context.config.get_main_option("sqlalchemy.url") or get_settings().sqlalchemy_url


def run_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=SQLModel.metadata,
        literal_binds=True,
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=SQLModel.metadata, version_table=VERSION_TABLE
    )
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        context.run_migrations()


async def run_online() -> None:
    engine = create_async_engine(_url(), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_migrate)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_online())
