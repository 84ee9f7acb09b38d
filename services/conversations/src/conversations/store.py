"""Every read and write of conversations and messages, used by REST and gRPC alike.

Rules live here once: every query is scoped by `user_id` (someone else's conversation
is NotFound, like a missing or deleted one), input limits, ordering by `seq`,
idempotent turn starts. Each function runs one SQL statement (see `sql.py`) on a
connection in autocommit mode, so it is its own short transaction.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from uuid import UUID

import orjson
from chat_common.errors import Conflict, InvalidInput, NotFound
from psycopg import AsyncConnection, AsyncCursor, DataError
from psycopg import errors as pg_errors

from conversations import sql
from conversations.models import (
    IDEMPOTENCY_KEY_MAX_CHARS,
    ROLES,
    STATUSES,
    TITLE_MAX_CHARS,
    ConversationRecord,
    MessageRecord,
    MessageSlice,
    Page,
    Turn,
)

# Assistant, tool and system content is written by our own code, not typed by a person:
# it gets a generous cap instead of MESSAGE_MAX_CHARS (a runaway reply still has a bound).
INTERNAL_MAX_CHARS: Final = 1_000_000
JSON_MAX_CHARS: Final = 1_000_000
AUTO_TITLE_CHARS: Final = 60
DEFAULT_PAGE_SIZE: Final = 20
DEFAULT_HISTORY_SIZE: Final = 50


class _Unset:
    """Marks "leave as it is" where None means "clear"."""


UNSET: Final = _Unset()

# The psycopg connection under a pooled SQLAlchemy connection (see db.py); rows are tuples.
Connection = AsyncConnection[tuple[Any, ...]]
Rows = AsyncCursor[tuple[Any, ...]]

# ------------------------------------------------------------------------ conversations


async def create_conversation(
    db: Connection,
    *,
    user_id: UUID,
    title: str | None = None,
    conversation_id: UUID | None = None,
    metadata_json: str | None = None,
) -> ConversationRecord:
    params = {
        "id": conversation_id or uuid.uuid4(),
        "user_id": user_id,
        "title": _title(title),
        "metadata": _json(metadata_json, dict, "metadata"),
    }
    row = await _one_or_none(db, sql.CREATE_CONVERSATION, params)
    if row is None:
        raise Conflict("a conversation with this id already exists")
    return _conversation(row)


async def get_conversation(
    db: Connection, *, user_id: UUID, conversation_id: UUID
) -> ConversationRecord:
    params = {"conversation_id": conversation_id, "user_id": user_id}
    return _conversation(await _found(db, sql.GET_CONVERSATION, params, "conversation"))


async def list_conversations(
    db: Connection, *, user_id: UUID, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None
) -> Page:
    """Newest `updated_at` first; `next_cursor` continues strictly after the last item."""
    _check_limit(limit, 100)
    params: dict[str, Any] = {"user_id": user_id, "limit": limit + 1}
    statement = sql.LIST_CONVERSATIONS_FIRST
    if cursor:
        params["cursor_updated_at"], params["cursor_id"] = decode_cursor(cursor)
        statement = sql.LIST_CONVERSATIONS_AFTER
    rows = await (await _execute(db, statement, params)).fetchall()
    items = [_conversation(row) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1]) if len(rows) > limit else None
    return Page(conversations=items, next_cursor=next_cursor)


async def update_conversation(
    db: Connection,
    *,
    user_id: UUID,
    conversation_id: UUID,
    title: str | _Unset | None = UNSET,
    metadata_json: str | _Unset | None = UNSET,
) -> ConversationRecord:
    params = {
        "conversation_id": conversation_id,
        "user_id": user_id,
        "set_title": not isinstance(title, _Unset),
        "title": None if isinstance(title, _Unset) else _title(title),
        "set_metadata": not isinstance(metadata_json, _Unset),
        "metadata": (
            None if isinstance(metadata_json, _Unset) else _json(metadata_json, dict, "metadata")
        ),
    }
    return _conversation(await _found(db, sql.UPDATE_CONVERSATION, params, "conversation"))


async def delete_conversation(db: Connection, *, user_id: UUID, conversation_id: UUID) -> None:
    """Soft delete: the conversation and its messages answer NotFound from now on."""
    params = {"conversation_id": conversation_id, "user_id": user_id}
    await _found(db, sql.DELETE_CONVERSATION, params, "conversation")


def encode_cursor(last: ConversationRecord) -> str:
    micros = _epoch_micros(last.updated_at)
    raw = f"{micros}.{last.id.replace('-', '')}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


_CURSOR = re.compile(r"^(-?\d{1,20})\.([0-9a-f]{32})$")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The (updated_at, id) a cursor continues after; InvalidInput for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        match = _CURSOR.match(base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii"))
        if len(cursor) > 100 or match is None:
            raise ValueError
        updated_at = _from_epoch_micros(int(match.group(1)))
        return updated_at, UUID(hex=match.group(2))
    except (ValueError, UnicodeError, binascii.Error, OverflowError):
        raise InvalidInput("invalid cursor") from None


# ------------------------------------------------------------------------------ messages


async def append_message(
    db: Connection,
    *,
    user_id: UUID,
    conversation_id: UUID,
    role: str,
    content: str,
    max_chars: int,
    status: str = "complete",
    tool_calls_json: str | None = None,
    payload_json: str | None = None,
    message_id: UUID | None = None,
    input_tokens: int = 0,
    output_tokens: int = 0,
) -> MessageRecord:
    """Stores one message and bumps the conversation's updated_at."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    _check_content(content, user_authored=role == "user", max_chars=max_chars)
    params = {
        "conversation_id": conversation_id,
        "user_id": user_id,
        "auto_title": auto_title(content) if role == "user" else None,
        "id": message_id or uuid.uuid4(),
        "role": role,
        "content": content,
        "status": _status(status or "complete"),
        "tool_calls": _json(tool_calls_json, list, "tool_calls"),
        "payload": _json(payload_json, dict, "payload"),
        "input_tokens": _tokens(input_tokens),
        "output_tokens": _tokens(output_tokens),
    }
    return _message(await _found(db, sql.APPEND_MESSAGE, params, "conversation"))


async def start_turn(
    db: Connection,
    *,
    user_id: UUID,
    conversation_id: UUID,
    content: str,
    max_chars: int,
    idempotency_key: str | None = None,
    payload_json: str | None = None,
) -> Turn:
    """The user message and an empty in-progress assistant reply, stored together.

    A key already used in this conversation with the same content stores nothing and
    returns the first pair (`replayed`); with other content it is a Conflict.
    """
    _check_content(content, user_authored=True, max_chars=max_chars)
    if idempotency_key is not None and not 0 < len(idempotency_key) <= IDEMPOTENCY_KEY_MAX_CHARS:
        raise InvalidInput(f"idempotency key must be 1..{IDEMPOTENCY_KEY_MAX_CHARS} chars")
    params = {
        "conversation_id": conversation_id,
        "user_id": user_id,
        "user_message_id": uuid.uuid4(),
        "assistant_message_id": uuid.uuid4(),
        "content": content,
        "payload": _json(payload_json, dict, "payload"),
        "idempotency_key": idempotency_key,
        "auto_title": auto_title(content),
    }
    rows = await (await _execute(db, sql.START_TURN, params)).fetchall()
    if rows:
        first, second = (_message(row) for row in rows)
        user, assistant = (first, second) if first.role == "user" else (second, first)
        return Turn(user_message=user, assistant_message=assistant, replayed=False)
    if idempotency_key is None:
        raise NotFound("conversation not found")
    return await _replay(db, params, content)


async def _replay(db: Connection, params: Mapping[str, Any], content: str) -> Turn:
    rows = await (await _execute(db, sql.TURN_REPLAY, params)).fetchall()
    messages = [_message(row) for row in rows]
    user = next((m for m in messages if m.idempotency_key == params["idempotency_key"]), None)
    if user is None:
        raise NotFound("conversation not found")
    if user.content != content:
        raise Conflict("this idempotency key was already used with different content")
    assistant = next((m for m in messages if m is not user), None)
    return Turn(user_message=user, assistant_message=assistant, replayed=True)


async def update_message(
    db: Connection,
    *,
    user_id: UUID,
    conversation_id: UUID,
    message_id: UUID,
    max_chars: int,
    content: str | None = None,
    status: str | None = None,
    tool_calls_json: str | _Unset | None = UNSET,
    payload_json: str | _Unset | None = UNSET,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
) -> MessageRecord:
    """Changes the given fields of one message in place (e.g. a streaming reply)."""
    content_ok_for_user = True
    if content is not None:
        _check_content(content, user_authored=False, max_chars=max_chars)
        content_ok_for_user = len(content.strip()) > 0 and len(content) <= max_chars
    params = {
        "conversation_id": conversation_id,
        "user_id": user_id,
        "message_id": message_id,
        "content": content,
        "status": None if status is None else _status(status),
        "set_tool_calls": not isinstance(tool_calls_json, _Unset),
        "tool_calls": _json_or_unset(tool_calls_json, list, "tool_calls"),
        "set_payload": not isinstance(payload_json, _Unset),
        "payload": _json_or_unset(payload_json, dict, "payload"),
        "input_tokens": None if input_tokens is None else _tokens(input_tokens),
        "output_tokens": None if output_tokens is None else _tokens(output_tokens),
        "content_ok_for_user": content_ok_for_user,
    }
    row = await _one_or_none(db, sql.UPDATE_MESSAGE, params)
    if row is not None:
        return _message(row)
    # Nothing matched: a missing message, or a user message given unacceptable content.
    await get_message(db, user_id=user_id, conversation_id=conversation_id, message_id=message_id)
    raise InvalidInput(f"a user message must have 1..{max_chars} characters")


async def get_message(
    db: Connection, *, user_id: UUID, conversation_id: UUID, message_id: UUID
) -> MessageRecord:
    params = {"conversation_id": conversation_id, "user_id": user_id, "message_id": message_id}
    return _message(await _found(db, sql.GET_MESSAGE, params, "message"))


async def delete_message(
    db: Connection, *, user_id: UUID, conversation_id: UUID, message_id: UUID
) -> None:
    params = {"conversation_id": conversation_id, "user_id": user_id, "message_id": message_id}
    await _found(db, sql.DELETE_MESSAGE, params, "message")


async def list_messages(
    db: Connection,
    *,
    user_id: UUID,
    conversation_id: UUID,
    limit: int = DEFAULT_HISTORY_SIZE,
    max_limit: int = 100,
    before: UUID | None = None,
    after: UUID | None = None,
    oldest_first: bool = False,
) -> MessageSlice:
    """Oldest first. No anchor: the latest `limit` (the first, with `oldest_first`);
    `before`/`after` a message id of this conversation: the page next to it."""
    _check_limit(limit, max_limit)
    if before is not None and after is not None:
        raise InvalidInput("give either before or after, not both")
    anchor = before or after
    statement, newest_window = _history_statement(before, after, oldest_first)
    params = {
        "conversation_id": conversation_id,
        "user_id": user_id,
        "anchor_id": anchor,
        "limit": limit + 1,
    }
    rows = await (await _execute(db, statement, params)).fetchall()
    if not rows:
        raise NotFound("conversation not found")
    if anchor is not None and rows[0][1] is None:
        raise InvalidInput("before/after must be the id of a message of this conversation")
    messages = [_message(row[2:]) for row in rows if row[2] is not None]
    has_more = len(messages) > limit
    if has_more:
        # The extra row is the one beyond the window: the oldest when reading backwards.
        messages = messages[1:] if newest_window else messages[:-1]
    return MessageSlice(messages=messages, has_more=has_more)


def _history_statement(
    before: UUID | None, after: UUID | None, oldest_first: bool
) -> tuple[str, bool]:
    if before is not None:
        return sql.LIST_MESSAGES_BEFORE, True
    if after is not None:
        return sql.LIST_MESSAGES_AFTER, False
    if oldest_first:
        return sql.LIST_MESSAGES_OLDEST, False
    return sql.LIST_MESSAGES_LATEST, True


def auto_title(content: str) -> str | None:
    """A title from the first words of a user message (about AUTO_TITLE_CHARS chars)."""
    words = " ".join(content.split())
    if len(words) <= AUTO_TITLE_CHARS:
        return words or None
    cut = words[:AUTO_TITLE_CHARS]
    if " " in cut[AUTO_TITLE_CHARS // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


# ------------------------------------------------------------------------------- helpers


async def _execute(db: Connection, query: str, params: Mapping[str, Any]) -> Rows:
    try:
        cursor: Rows = await db.execute(query, params)
    except pg_errors.UniqueViolation as exc:
        raise Conflict("already exists") from exc
    except DataError as exc:  # a value Postgres cannot store (e.g. out of range)
        raise InvalidInput("invalid value") from exc
    return cursor


async def _one_or_none(
    db: Connection, query: str, params: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    return await (await _execute(db, query, params)).fetchone()


async def _found(
    db: Connection, query: str, params: Mapping[str, Any], what: str
) -> tuple[Any, ...]:
    row = await _one_or_none(db, query, params)
    if row is None:
        raise NotFound(f"{what} not found")
    return row


def _conversation(row: Sequence[Any]) -> ConversationRecord:
    return ConversationRecord(*row)


def _message(row: Sequence[Any]) -> MessageRecord:
    return MessageRecord(*row)


def _check_limit(limit: int, max_limit: int) -> None:
    if not 1 <= limit <= max_limit:
        raise InvalidInput(f"limit must be 1..{max_limit}")


def _check_content(content: str, *, user_authored: bool, max_chars: int) -> None:
    if "\x00" in content:
        raise InvalidInput("content must not contain NUL characters")
    if user_authored and not content.strip():
        raise InvalidInput("content must not be empty")
    limit = max_chars if user_authored else INTERNAL_MAX_CHARS
    if len(content) > limit:
        raise InvalidInput(f"content is longer than {limit} characters")


def _title(title: str | None) -> str | None:
    if title is not None and (not 0 < len(title) <= TITLE_MAX_CHARS or "\x00" in title):
        raise InvalidInput(f"title must be 1..{TITLE_MAX_CHARS} characters")
    return title


def _status(status: str) -> str:
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    return status


def _tokens(count: int) -> int:
    if not 0 <= count < 2**31:
        raise InvalidInput("token counts must be non-negative")
    return count


def _json(value: str | None, kind: type, name: str) -> str | None:
    """The JSON text to store ("" and None mean none), checked to be a `kind` value."""
    if not value:
        return None
    if len(value) > JSON_MAX_CHARS:
        raise InvalidInput(f"{name} is too large")
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise InvalidInput(f"{name} must be JSON") from None
    if not isinstance(parsed, kind) or "\\u0000" in value:
        raise InvalidInput(f"{name} must be a JSON {'array' if kind is list else 'object'}")
    return value


def _json_or_unset(value: str | _Unset | None, kind: type, name: str) -> str | None:
    return None if isinstance(value, _Unset) else _json(value, kind, name)


def _epoch_micros(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_epoch_micros(micros: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
