"""The conversations service's settings, read from the environment once (`get_settings()`)."""

from __future__ import annotations

from functools import lru_cache

from chat_common.settings import TokenSettings, async_database_url
from pydantic import Field, field_validator

from conversations.checks import DEFAULT_PAYLOAD_MAX_BYTES


class Settings(TokenSettings):
    # postgresql://user:pass@host:port/db (psycopg 3 is used whatever the scheme says).
    database_url: str
    # 0: any free port, reported in $PORT_FILE (chat_common.bound_ports).
    port: int = Field(default=8002, ge=0, le=65535)
    grpc_port: int = Field(default=50051, ge=0, le=65535)
    # Longest user-authored message; assistant and tool content get INTERNAL_MAX_CHARS.
    message_max_chars: int = Field(default=10_000, ge=1, le=1_000_000)
    # Largest stored message payload (ChatKit item JSON, UTF-8 bytes) and conversation
    # metadata, from any writer: a user item is mostly its text, so tens of KiB is ample,
    # and every history read carries payloads.
    message_payload_max_bytes: int = Field(default=DEFAULT_PAYLOAD_MAX_BYTES, ge=1024, le=1_048_576)
    db_pool_min_size: int = Field(default=2, ge=0)
    db_pool_max_size: int = Field(default=20, ge=1)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    # How long a stopping server lets in-flight requests finish.
    shutdown_grace_seconds: float = Field(default=5.0, ge=0)
    # The lease of an in-progress reply: every write of its agent renews it (text every
    # 0.5 s, else a heartbeat every REPLY_HEARTBEAT_SECONDS, a third of this); a reply not
    # written for this long lost its agent and is marked interrupted, text kept. Each
    # replica sweeps every third of it (`reply_sweep_seconds`).
    reply_lease_seconds: float = Field(default=15.0, gt=0)
    # Retention (retention.py): soft-deleted conversations are purged this many days after
    # their deletion (0: at the next run) …
    deleted_conversation_retention_days: int = Field(default=30, ge=0, le=36_500)
    # … and, when > 0, every message older than this many days is purged too (and the
    # conversations left empty); 0 keeps messages as long as their conversation.
    message_retention_days: int = Field(default=0, ge=0, le=36_500)
    # How often one replica (an advisory lock) purges, and the rows per statement.
    retention_sweep_seconds: float = Field(default=3600.0, gt=0)
    retention_batch_size: int = Field(default=500, ge=1, le=100_000)
    # Per-user turn limits, for REST and ChatKit alike (budgets.py); 0 turns one off.
    turn_rate_per_minute: float = Field(default=30.0, ge=0)
    turn_rate_burst: int = Field(default=10, ge=1)
    max_concurrent_turns: int = Field(default=3, ge=0)
    # Model tokens (in + out) a user may spend per UTC day (budgets.py); 0: no quota.
    tokens_per_day: int = Field(default=0, ge=0)
    # The text search configuration of search queries (search.py); must be the one
    # `conversations.migrate` built the search columns with (migration 0004).
    search_language: str = Field(default="simple", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    # Largest attachment (attachments.py); the gateway's upload route has the same limit.
    # At most 12 MiB: a file travels to the agent in one gRPC message (16 MiB).
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1, le=12 * 1024 * 1024)

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        async_database_url(value)  # raises a clear ValueError for anything but Postgres
        return value

    @property
    def reply_sweep_seconds(self) -> float:
        return self.reply_lease_seconds / 3

    @property
    def sqlalchemy_url(self) -> str:
        """For Alembic (SQLAlchemy's psycopg 3 dialect)."""
        return async_database_url(self.database_url)

    @property
    def libpq_url(self) -> str:
        """For psycopg itself (no SQLAlchemy driver suffix)."""
        return "postgresql://" + self.sqlalchemy_url.removeprefix("postgresql+psycopg://")


@lru_cache
def get_settings() -> Settings:
    return Settings()  # DATABASE_URL comes from the environment
