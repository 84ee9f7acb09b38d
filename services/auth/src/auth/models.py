"""The auth service's tables (its own, prefixed `auth_`) and its request/response shapes.

The schema itself is made only by the Alembic migrations in `services/auth/migrations`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    func,
    text,
)
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

EMAIL_MAX_CHARS = 320
PASSWORD_MIN_CHARS = 8
PASSWORD_MAX_CHARS = 1024
REFRESH_TOKEN_MAX_CHARS = 1024
ADDRESS_MAX_CHARS = 64  # the longest textual IPv6 address is 45


def _timestamp(
    *, nullable: bool, default_now: bool = False, index: bool = False
) -> Column[datetime]:
    return Column(
        DateTime(timezone=True),
        nullable=nullable,
        index=index,
        server_default=func.now() if default_now else None,
    )


class User(SQLModel, table=True):
    __tablename__ = "auth_users"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    # Normalised (stripped, lowercased) before it is stored or looked up.
    email: str = SQLField(sa_column=Column(String(EMAIL_MAX_CHARS), unique=True, nullable=False))
    password_hash: str = SQLField(sa_column=Column(String(512), nullable=False))
    created_at: datetime | None = SQLField(
        default=None, sa_column=_timestamp(nullable=False, default_now=True)
    )


class RefreshFamily(SQLModel, table=True):
    """One login session: every refresh token rotated from one login shares it."""

    __tablename__ = "auth_refresh_families"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = SQLField(
        sa_column=Column(
            ForeignKey("auth_users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: datetime | None = SQLField(
        default=None, sa_column=_timestamp(nullable=False, default_now=True)
    )
    revoked_at: datetime | None = SQLField(default=None, sa_column=_timestamp(nullable=True))


class RefreshToken(SQLModel, table=True):
    """Only the SHA-256 of the opaque token is stored."""

    __tablename__ = "auth_refresh_tokens"

    id: uuid.UUID = SQLField(default_factory=uuid.uuid4, primary_key=True)
    token_hash: bytes = SQLField(sa_column=Column(LargeBinary(32), unique=True, nullable=False))
    family_id: uuid.UUID = SQLField(
        sa_column=Column(
            ForeignKey("auth_refresh_families.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: datetime | None = SQLField(
        default=None, sa_column=_timestamp(nullable=False, default_now=True)
    )
    expires_at: datetime = SQLField(sa_column=_timestamp(nullable=False, index=True))
    used_at: datetime | None = SQLField(default=None, sa_column=_timestamp(nullable=True))


class LoginThrottle(SQLModel, table=True):
    """Failed logins of one (normalised email, client address) pair; shared by all replicas.
    Each attempt is counted when it starts and forgotten again when it succeeds."""

    __tablename__ = "auth_login_throttle"

    email: str = SQLField(sa_column=Column(String(EMAIL_MAX_CHARS), primary_key=True))
    address: str = SQLField(sa_column=Column(String(ADDRESS_MAX_CHARS), primary_key=True))
    failures: int = SQLField(sa_column=Column(Integer, nullable=False))
    last_attempt_at: datetime = SQLField(sa_column=_timestamp(nullable=False, index=True))


class AddressFailures(SQLModel, table=True):
    """Failed logins from one client address across every account, in the current window."""

    __tablename__ = "auth_login_address_failures"

    address: str = SQLField(sa_column=Column(String(ADDRESS_MAX_CHARS), primary_key=True))
    failures: int = SQLField(sa_column=Column(Integer, nullable=False))
    window_started_at: datetime = SQLField(sa_column=_timestamp(nullable=False, index=True))


class AccountDeletion(SQLModel, table=True):
    """A deleted account: the outbox row that tells conversations to delete its data
    (delivered by auth.deletion_courier), and, while tokens of the account may still be
    unexpired, the marker `/verify` refuses them by (auth.account_deletion)."""

    __tablename__ = "auth_account_deletions"
    __table_args__ = (  # what the courier has still to deliver, soonest first
        Index(
            "ix_auth_account_deletions_due",
            "next_attempt_at",
            postgresql_where=text("delivered_at IS NULL"),
        ),
    )

    user_id: uuid.UUID = SQLField(primary_key=True)  # no foreign key: outlives the user
    requested_at: datetime | None = SQLField(
        default=None, sa_column=_timestamp(nullable=False, default_now=True, index=True)
    )
    attempts: int = SQLField(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    next_attempt_at: datetime | None = SQLField(
        default=None, sa_column=_timestamp(nullable=False, default_now=True)
    )
    delivered_at: datetime | None = SQLField(default=None, sa_column=_timestamp(nullable=True))


def storable_text(value: str) -> str:
    """Refuses what a Postgres text column cannot hold (NUL) and what cannot be encoded
    as UTF-8 at all (lone surrogates, which JSON's \\uD800 escapes can produce)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


StorableText = Annotated[str, AfterValidator(storable_text)]


def normalize_email(value: str) -> str:
    return value.strip().lower()


def valid_email(value: str) -> str:
    email = normalize_email(value)
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None
    return email


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Password = Annotated[
    StorableText, Field(min_length=PASSWORD_MIN_CHARS, max_length=PASSWORD_MAX_CHARS)
]


class RegisterIn(Strict):
    email: Annotated[StorableText, Field(max_length=EMAIL_MAX_CHARS), AfterValidator(valid_email)]
    password: Password


class LoginIn(Strict):
    # Not validated as an address: a malformed one simply matches no account (401).
    email: Annotated[
        StorableText, Field(max_length=EMAIL_MAX_CHARS), AfterValidator(normalize_email)
    ]
    password: Annotated[StorableText, Field(min_length=1, max_length=PASSWORD_MAX_CHARS)]


class PasswordChangeIn(Strict):
    current_password: Annotated[StorableText, Field(min_length=1, max_length=PASSWORD_MAX_CHARS)]
    new_password: Password  # the rules of registration


class AccountDeleteIn(Strict):
    password: Annotated[StorableText, Field(min_length=1, max_length=PASSWORD_MAX_CHARS)]


class RefreshIn(Strict):
    refresh_token: Annotated[StorableText, Field(min_length=1, max_length=REFRESH_TOKEN_MAX_CHARS)]


class UserPublic(BaseModel):
    id: uuid.UUID
    email: str


class TokenPair(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str
