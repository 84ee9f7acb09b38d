"""The database connection pool: psycopg 3's own async pool (psycopg_pool).

Created in the app's lifespan, never at import. Connections are in autocommit mode:
every store function is a single SQL statement, atomic on its own, costing one round
trip (no BEGIN/COMMIT).

Why not an SQLAlchemy AsyncEngine here: measured per call on the hot paths (a turn makes
several), SQLAlchemy's execution layer cost more CPU than the query itself, and even its
pool checkout alone (greenlet hops) cost more than psycopg_pool's (`make bench` measures
the hot paths again; docs/benchmarks.md).
psycopg_pool also discards connections returned in a bad state (e.g. a query cancelled by
a gRPC deadline), which a pool without reset-on-return would hand out again. SQLAlchemy
still describes the tables (SQLModel, models.py) and runs the migrations (Alembic).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from conversations.settings import Settings
from conversations.store import Connection

Pool = AsyncConnectionPool[AsyncConnection[Any]]


def create_pool(settings: Settings) -> Pool:
    """A closed pool; `await pool.open()` starts connecting in the background (a database
    that is not up yet makes /readyz fail instead of the process)."""
    return AsyncConnectionPool(
        settings.libpq_url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout=settings.db_pool_timeout_seconds,
        max_lifetime=1800,
        # An empty query on every checkout: after a Postgres restart each stale connection
        # is replaced here instead of failing one request, for one round trip per checkout
        # (measured in docs/reliability.md).
        check=AsyncConnectionPool.check_connection,
        kwargs={
            "autocommit": True,
            "options": "-c timezone=UTC",
            "application_name": "conversations",
        },
        name="conversations",
        open=False,
    )


@asynccontextmanager
async def connection(pool: Pool) -> AsyncIterator[Connection]:
    """A pooled connection for the store (autocommit, tuple rows)."""
    async with pool.connection() as conn:
        yield conn


async def ping(pool: Pool) -> None:
    """Raises unless the database answers (the readiness check)."""
    async with pool.connection(timeout=2.0) as conn:
        await conn.execute("SELECT 1")
