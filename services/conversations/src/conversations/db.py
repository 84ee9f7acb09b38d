"""The database engine: async SQLAlchemy on psycopg 3 with a connection pool.

Created in the app's lifespan (never at import). Connections are in autocommit mode:
every store function is a single statement, so it is atomic on its own and costs one
round trip (no BEGIN/COMMIT), which keeps each turn's database work short.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from conversations.settings import Settings


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(settings: Settings) -> AsyncEngine:
    return create_async_engine(
        settings.sqlalchemy_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_recycle=1800,
        # Autocommit leaves no transaction open to roll back when a connection returns.
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,
        json_serializer=_dumps,
        json_deserializer=orjson.loads,
        connect_args={"options": "-c timezone=UTC", "application_name": "conversations"},
    )


async def ping(engine: AsyncEngine) -> None:
    """Raises unless the database answers (the readiness check)."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
