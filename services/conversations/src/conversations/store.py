"""Every read and write of conversations and messages, used by REST and gRPC alike.

Rules live here once: every query is scoped by `user_id` (someone else's conversation
is NotFound, like a missing or deleted one), input limits, ordering by `seq`,
idempotent turn starts. Each function runs one SQL statement (see `sql.py`) on a
connection in autocommit mode, so it is its own short transaction (a turn start that
also reads its history pipelines two statements in one round trip and transaction).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final
from uuid import UUID

from chat_common.errors import Conflict, FailedPrecondition, InvalidInput, NotFound

from conversations import budgets, sql
from conversations.checks import (
    DEFAULT_PAYLOAD_MAX_BYTES,
    TOOL_CALLS_MAX_BYTES,
    auto_title,
    check_content,
    check_limit,
    decode_cursor,
    encode_cursor,
    valid_idempotency_key,
    valid_json,
    valid_model,
    valid_status,
    valid_title,
    valid_tokens,
)
from conversations.models import ROLES, ConversationRecord, MessageRecord, MessageSlice, Page, Turn
from conversations.patches import ConversationPatch, MessagePatch, Unset
from conversations.rows import Connection as Connection  # deps.py imports it from here
from conversations.rows import conversation as _conversation
from conversations.rows import domain_errors as _domain_errors
from conversations.rows import execute as _execute
from conversations.rows import found as _found
from conversations.rows import message as _message
from conversations.rows import one_or_none as _one_or_none

DEFAULT_PAGE_SIZE: Final = 20
DEFAULT_HISTORY_SIZE: Final = 50

# ------------------------------------------------------------------------ conversations


async def create_conversation(
    db: Connection,
    *,
    user_id: UUID,
    title: str | None = None,
    conversation_id: UUID | None = None,
    metadata_json: str | None = None,
    payload_max_bytes: int = DEFAULT_PAYLOAD_MAX_BYTES,
) -> ConversationRecord:
    params = {
        "id": conversation_id or uuid.uuid4(),
        "user_id": user_id,
        "title": valid_title(title),
        "metadata": valid_json(metadata_json, dict, "metadata", max_bytes=payload_max_bytes),
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
    check_limit(limit, 100)
    params: dict[str, Any] = {"user_id": user_id, "limit": limit + 1}
    statement = sql.LIST_CONVERSATIONS_FIRST
    if cursor:
        params["cursor_updated_at"], params["cursor_id"] = decode_cursor(cursor)
        statement = sql.LIST_CONVERSATIONS_AFTER
    rows = await (await _execute(db, statement, params)).fetchall()
    items = [_conversation(row) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1]) if len(rows) > limit else None
    return Page(conversations=items, next_cursor=next_cursor)


async def list_conversations_by_created(
    db: Connection,
    *,
    user_id: UUID,
    limit: int = DEFAULT_PAGE_SIZE,
    after_id: UUID | None,
    oldest_first: bool,
) -> Page:
    """ChatKit's order: by creation time; `next_cursor` is the last item's id."""
    check_limit(limit, 100)
    params: dict[str, Any] = {"user_id": user_id, "limit": limit + 1, "after_id": after_id}
    statement = sql.LIST_CONVERSATIONS_BY_CREATED[oldest_first, after_id is not None]
    rows = await (await _execute(db, statement, params)).fetchall()
    items = [_conversation(row) for row in rows[:limit]]
    next_cursor = str(items[-1].id) if len(rows) > limit else None
    return Page(conversations=items, next_cursor=next_cursor)


async def update_conversation(
    db: Connection,
    *,
    user_id: UUID,
    conversation_id: UUID,
    patch: ConversationPatch,
    payload_max_bytes: int = DEFAULT_PAYLOAD_MAX_BYTES,
) -> ConversationRecord:
    title, metadata_json = patch.title, patch.metadata_json
    params = {
        "conversation_id": conversation_id,
        "user_id": user_id,
        "set_title": not isinstance(title, Unset),
        "title": None if isinstance(title, Unset) else valid_title(title),
        "set_metadata": not isinstance(metadata_json, Unset),
        "metadata": _json_or_unset(metadata_json, dict, "metadata", payload_max_bytes),
    }
    return _conversation(await _found(db, sql.UPDATE_CONVERSATION, params, "conversation"))


async def delete_conversation(db: Connection, *, user_id: UUID, conversation_id: UUID) -> None:
    """Soft delete: the conversation and its messages answer NotFound from now on."""
    params = {"conversation_id": conversation_id, "user_id": user_id}
    await _found(db, sql.DELETE_CONVERSATION, params, "conversation")


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
    payload_max_bytes: int = DEFAULT_PAYLOAD_MAX_BYTES,
) -> MessageRecord:
    """Stores one message and bumps the conversation's updated_at."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    check_content(content, user_authored=role == "user", max_chars=max_chars)
    params = {
        "conversation_id": conversation_id,
        "user_id": user_id,
        "auto_title": auto_title(content) if role == "user" else None,
        "id": message_id or uuid.uuid4(),
        "role": role,
        "content": content,
        "status": valid_status(status or "complete"),
        "tool_calls": valid_json(
            tool_calls_json, list, "tool_calls", max_bytes=TOOL_CALLS_MAX_BYTES
        ),
        "payload": valid_json(payload_json, dict, "payload", max_bytes=payload_max_bytes),
        "input_tokens": valid_tokens(input_tokens),
        "output_tokens": valid_tokens(output_tokens),
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
    history_limit: int = 0,
    max_history: int = 100,
    payload_max_bytes: int = DEFAULT_PAYLOAD_MAX_BYTES,
    budget: budgets.TurnBudget = budgets.UNLIMITED,
) -> Turn:
    """The user message and an empty in-progress assistant reply, stored together.

    A key already used in this conversation with the same content stores nothing and
    returns the first pair (`replayed`); with other content it is a Conflict. With a
    `history_limit` the turn also carries the latest messages up to its user message.
    A new turn over the user's `budget` is RateLimited and stores nothing.
    """
    check_content(content, user_authored=True, max_chars=max_chars)
    valid_idempotency_key(idempotency_key)
    if history_limit:
        check_limit(history_limit, max_history)
    params = {
        "conversation_id": conversation_id,
        "user_id": user_id,
        "user_message_id": uuid.uuid4(),
        "assistant_message_id": uuid.uuid4(),
        "content": content,
        "payload": valid_json(payload_json, dict, "payload", max_bytes=payload_max_bytes),
        "idempotency_key": idempotency_key,
        "auto_title": auto_title(content),
        "history_limit": history_limit,
    }
    rows, history_rows = await _turn_rows(db, params, with_history=history_limit > 0, budget=budget)
    history = [_message(row) for row in history_rows] if history_limit else None
    if rows:
        first, second = (_message(row) for row in rows)
        user, assistant = (first, second) if first.role == "user" else (second, first)
        return Turn(user_message=user, assistant_message=assistant, replayed=False, history=history)
    if idempotency_key is None:
        raise NotFound("conversation not found")
    return await _replay(db, params, content, history)


async def _turn_rows(
    db: Connection, params: Mapping[str, Any], *, with_history: bool, budget: budgets.TurnBudget
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """START_TURN's rows, and TURN_HISTORY's when asked, after the budget's charge. The
    statements go in one pipelined round trip with no Sync between them: one implicit
    transaction, so the history is read while the turn still holds its conversation's
    lock, and a refused charge (an error) skips the rest."""
    with _domain_errors(), budgets.refusals(budget):
        async with db.pipeline():
            await budgets.charge(db, budget=budget, turn=params)
            turn = await db.execute(sql.START_TURN, params)
            history = await db.execute(sql.TURN_HISTORY, params) if with_history else None
    return await turn.fetchall(), await history.fetchall() if history else []


async def _replay(
    db: Connection, params: Mapping[str, Any], content: str, history: list[MessageRecord] | None
) -> Turn:
    rows = await (await _execute(db, sql.TURN_REPLAY, params)).fetchall()
    messages = [_message(row) for row in rows]
    user = next((m for m in messages if m.idempotency_key == params["idempotency_key"]), None)
    if user is None:
        raise NotFound("conversation not found")
    if user.content != content:
        raise Conflict("this idempotency key was already used with different content")
    assistant = next((m for m in messages if m is not user), None)
    return Turn(user_message=user, assistant_message=assistant, replayed=True, history=history)


async def update_message(
    db: Connection,
    *,
    user_id: UUID,
    conversation_id: UUID,
    message_id: UUID,
    patch: MessagePatch,
    max_chars: int,
    payload_max_bytes: int = DEFAULT_PAYLOAD_MAX_BYTES,
) -> MessageRecord:
    """Changes the patched fields of one message in place (e.g. a streaming reply).

    A final message (complete, failed, interrupted) keeps its status, content, tool calls
    and usage: a write changing one is FailedPrecondition (the same values again are
    accepted: a retried final write). An empty patch is a heartbeat: it keeps an
    in-progress reply alive for the stale-reply sweeper (FailedPrecondition once final).
    """
    content_ok_for_user = True
    if patch.content is not None:
        check_content(patch.content, user_authored=False, max_chars=max_chars)
        content_ok_for_user = len(patch.content.strip()) > 0 and len(patch.content) <= max_chars
    params = {
        "conversation_id": conversation_id,
        "user_id": user_id,
        "message_id": message_id,
        **_message_changes(patch, payload_max_bytes),
        "content_ok_for_user": content_ok_for_user,
        "heartbeat": patch.is_heartbeat,
    }
    row = await _one_or_none(db, sql.UPDATE_MESSAGE, params)
    if row is not None:
        return _message(row)
    # Nothing matched: a missing message, a final one this write would change, or a user
    # message given unacceptable content.
    current = await get_message(
        db, user_id=user_id, conversation_id=conversation_id, message_id=message_id
    )
    if current.role == "user" and not content_ok_for_user:
        raise InvalidInput(f"a user message must have 1..{max_chars} characters")
    raise FailedPrecondition(
        f"the message is already {current.status}: its status and content are final"
    )


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


async def interrupt_stale_replies(db: Connection, *, stale_seconds: float) -> int:
    """Marks every user's in-progress replies not written for `stale_seconds` interrupted
    (their agent died mid-turn); returns how many. Idempotent, safe to run concurrently."""
    cursor = await _execute(db, sql.INTERRUPT_STALE_REPLIES, {"stale_seconds": stale_seconds})
    return cursor.rowcount


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
    with_payload: bool = True,
) -> MessageSlice:
    """Oldest first. No anchor: the latest `limit` (the first, with `oldest_first`);
    `before`/`after` a message id of this conversation: the page next to it. Without
    `with_payload` the payload column is not read (`payload_json` is None)."""
    check_limit(limit, max_limit)
    if before is not None and after is not None:
        raise InvalidInput("give either before or after, not both")
    anchor = before or after
    window = _window(before, after, oldest_first)
    statement, newest_window = sql.LIST_MESSAGES[window, with_payload], window in _NEWEST
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


# Windows read backwards from their end (the extra row of has_more is their oldest).
_NEWEST: Final = ("before", "latest")


def _window(before: UUID | None, after: UUID | None, oldest_first: bool) -> str:
    if before is not None:
        return "before"
    if after is not None:
        return "after"
    return "oldest" if oldest_first else "latest"


# ------------------------------------------------------------------------------- helpers


def _message_changes(patch: MessagePatch, payload_max_bytes: int) -> dict[str, Any]:
    """UPDATE_MESSAGE's parameters for the patched fields, each checked."""
    tool_calls, payload = patch.tool_calls_json, patch.payload_json
    return {
        "content": patch.content,
        "status": None if patch.status is None else valid_status(patch.status),
        "set_tool_calls": not isinstance(tool_calls, Unset),
        "tool_calls": _json_or_unset(tool_calls, list, "tool_calls", TOOL_CALLS_MAX_BYTES),
        "set_payload": not isinstance(payload, Unset),
        "payload": _json_or_unset(payload, dict, "payload", payload_max_bytes),
        "input_tokens": _tokens_or_none(patch.input_tokens),
        "output_tokens": _tokens_or_none(patch.output_tokens),
        "model": valid_model(patch.model),
    }


def _tokens_or_none(value: int | None) -> int | None:
    return None if value is None else valid_tokens(value)


def _json_or_unset(value: str | Unset | None, kind: type, name: str, max_bytes: int) -> str | None:
    return None if isinstance(value, Unset) else valid_json(value, kind, name, max_bytes=max_bytes)
