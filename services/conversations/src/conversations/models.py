"""The tables this service owns, the REST shapes, and the records the store returns.

The schema itself comes only from the Alembic migrations; the table models here
mirror it (a test compares them) and document it. Hot paths use SQL written in
`sql.py` and return the small slotted records below, not ORM instances.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import sqlalchemy as sa
from chat_common.limits import IDEMPOTENCY_KEY_MAX_CHARS
from pydantic import ConfigDict
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlmodel import Field, SQLModel

Role = Literal["user", "assistant", "tool", "system"]
Status = Literal["complete", "in_progress", "interrupted", "failed"]
ROLES: tuple[str, ...] = ("user", "assistant", "tool", "system")
STATUSES: tuple[str, ...] = ("complete", "in_progress", "interrupted", "failed")
TITLE_MAX_CHARS = 200


def _search_vector(text: str) -> Any:
    """A generated full-text column (migration 0004, search.py). The configuration is
    SEARCH_LANGUAGE at migration time; `simple`, the default, is what this mirrors."""
    expression = f"to_tsvector('simple'::regconfig, {text})"
    return Field(
        default=None, sa_column=sa.Column(TSVECTOR, sa.Computed(expression, persisted=True))
    )


def _timestamp(*, nullable: bool = False) -> Any:
    default = None if nullable else sa.func.now()
    return Field(
        default=None,
        sa_column=sa.Column(sa.DateTime(timezone=True), nullable=nullable, server_default=default),
    )


# --- conversations -------------------------------------------------------------------


class ConversationBase(SQLModel):
    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX_CHARS)


class ConversationCreate(ConversationBase):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class ConversationUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    # Required (PATCH exists to rename); null clears it until the next user message.
    title: str | None = Field(min_length=1, max_length=TITLE_MAX_CHARS)


class Conversation(ConversationBase, table=True):
    __tablename__ = "conversations"
    __table_args__ = (
        # The list query: one user's live conversations, newest first (keyset on updated_at, id).
        sa.Index(
            "ix_conversations_user_updated",
            "user_id",
            sa.text("updated_at DESC"),
            sa.text("id DESC"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
        sa.Index("ix_conversations_title_search", "title_vector", postgresql_using="gin"),
        # The retention purge (retention.py): soft-deleted conversations by deletion time.
        sa.Index(
            "ix_conversations_deleted",
            "deleted_at",
            postgresql_where=sa.text("deleted_at IS NOT NULL"),
        ),
    )

    id: UUID = Field(primary_key=True)
    user_id: UUID = Field(nullable=False)
    # ChatKit thread metadata (free-form JSON object); the column is named "metadata".
    meta: dict[str, Any] | None = Field(default=None, sa_column=sa.Column("metadata", JSONB))
    created_at: datetime | None = _timestamp()
    updated_at: datetime | None = _timestamp()
    deleted_at: datetime | None = _timestamp(nullable=True)
    title_vector: Any = _search_vector("coalesce(title, '')")


class ConversationPublic(SQLModel):
    id: UUID
    title: str | None
    created_at: datetime
    updated_at: datetime


class ConversationPage(SQLModel):
    items: list[ConversationPublic]
    next_cursor: str | None


# --- messages ------------------------------------------------------------------------


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        sa.UniqueConstraint("conversation_id", "idempotency_key", name="uq_messages_idempotency"),
        sa.Index("ix_messages_conversation_seq", "conversation_id", "seq", unique=True),
        # The stale reply sweeper (sweeper.py): in-progress rows by their last write.
        sa.Index(
            "ix_messages_in_progress_updated",
            "updated_at",
            postgresql_where=sa.text("status = 'in_progress'"),
        ),
        # The concurrent-turn cap (budgets.py): one user's running replies.
        sa.Index(
            "ix_messages_user_in_progress",
            "user_id",
            postgresql_where=sa.text("status = 'in_progress' AND role = 'assistant'"),
        ),
        sa.Index("ix_messages_search", "search_vector", postgresql_using="gin"),
        # The retention purge (retention.py): messages older than MESSAGE_RETENTION_DAYS.
        sa.Index("ix_messages_created", "created_at"),
        sa.CheckConstraint(f"role IN {ROLES!r}", name="ck_messages_role"),
        sa.CheckConstraint(f"status IN {STATUSES!r}", name="ck_messages_status"),
        sa.CheckConstraint("feedback IN ('positive', 'negative')", name="ck_messages_feedback"),
    )

    id: UUID = Field(primary_key=True)
    # The order of a conversation's messages: strict even within one millisecond.
    seq: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), nullable=False)
    )
    conversation_id: UUID = Field(foreign_key="conversations.id", ondelete="CASCADE")
    user_id: UUID = Field(nullable=False)
    role: str = Field(nullable=False)
    content: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: str = Field(nullable=False)
    tool_calls: list[Any] | None = Field(default=None, sa_column=sa.Column(JSONB))
    # Protocol data (e.g. the ChatKit thread item).
    payload: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONB))
    input_tokens: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    output_tokens: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    # The model a reply's usage is of (the usage ledger); NULL: unknown.
    model: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    idempotency_key: str | None = Field(default=None, max_length=IDEMPOTENCY_KEY_MAX_CHARS)
    # For an assistant reply started by StartTurn or StartReply: the user message it answers.
    reply_to: UUID | None = Field(default=None)
    # The user's vote on a reply (ChatKit feedback, SetFeedback); NULL: none.
    feedback: str | None = Field(default=None, max_length=8)
    created_at: datetime | None = _timestamp()
    # Moved by every update; a reply in progress that stops moving lost its agent.
    updated_at: datetime | None = _timestamp()
    search_vector: Any = _search_vector("left(content, 100000)")  # see migration 0004


class SendBudget(SQLModel, table=True):
    """A user's send token bucket (budgets.py): `tokens` left at `updated_at`."""

    __tablename__ = "send_budgets"

    user_id: UUID = Field(primary_key=True)
    tokens: float = Field(sa_column=sa.Column(sa.Double, nullable=False))
    updated_at: datetime | None = _timestamp()


class UsageDay(SQLModel, table=True):
    """The usage ledger (usage.py): a user's model tokens per UTC day and model, added to
    when a reply becomes final (migration 0010's trigger); kept when messages go."""

    __tablename__ = "usage_days"

    user_id: UUID = Field(primary_key=True)
    day: date = Field(primary_key=True)
    model: str = Field(primary_key=True)  # "" for replies stored before models were recorded
    turns: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    input_tokens: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    output_tokens: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))


class Attachment(SQLModel, table=True):
    """A user's file (attachments.py): registered `pending`, its bytes checked on upload,
    bound to a conversation when sent, deleted with it (migration 0009's trigger)."""

    __tablename__ = "attachments"

    id: UUID = Field(primary_key=True)
    user_id: UUID = Field(index=True)
    conversation_id: UUID | None = Field(default=None, foreign_key="conversations.id")
    name: str = Field(max_length=255)
    mime_type: str
    size: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    state: str = Field(default="pending")
    content: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary))
    created_at: datetime | None = _timestamp()


class AttachmentKey(SQLModel, table=True):
    """The one key that signs image preview URLs (made by migration 0009, never shown)."""

    __tablename__ = "attachment_keys"

    id: int = Field(primary_key=True)
    key: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))


class MessagePublic(SQLModel):
    id: UUID
    conversation_id: UUID
    role: Role
    content: str
    tool_calls: list[Any] | None
    status: Status
    created_at: datetime
    # The user's vote on a reply (ChatKit's items.feedback); None: none.
    feedback: Literal["positive", "negative"] | None = None


class FeedbackCounts(SQLModel):
    """How many replies of a conversation were voted up and down."""

    positive: int
    negative: int


class MessagePage(SQLModel):
    items: list[MessagePublic]
    has_more: bool


class MessageWindowPage(MessagePage):
    """An `around` page: `has_newer` says newer messages exist (page on with `after`)."""

    has_newer: bool


# --- what the store returns ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    id: str  # a UUID, as text
    title: str | None
    created_at: datetime
    updated_at: datetime
    # JSON text as stored (passed through to gRPC without a decode/encode round).
    metadata_json: str | None


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: str  # a UUID, as text
    conversation_id: str
    role: str
    content: str
    status: str
    tool_calls_json: str | None
    payload_json: str | None
    input_tokens: int
    output_tokens: int
    idempotency_key: str | None
    created_at: datetime
    seq: int
    feedback: str | None = None  # "positive", "negative" or None


@dataclass(frozen=True, slots=True)
class Turn:
    user_message: MessageRecord
    assistant_message: MessageRecord | None
    replayed: bool
    # The latest messages up to user_message, oldest first (None: not asked for).
    history: list[MessageRecord] | None = None


@dataclass(frozen=True, slots=True)
class StartedReply:
    """StartReply's result: the reply to a stored user message (see reply_start.py)."""

    assistant_message: MessageRecord
    replayed: bool  # a reply to it already existed: nothing was stored or charged
    # The latest messages up to the user message, oldest first (None: not asked for).
    history: list[MessageRecord] | None = None


@dataclass(frozen=True, slots=True)
class Page:
    conversations: list[ConversationRecord]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class MessageSlice:
    messages: list[MessageRecord]
    has_more: bool
