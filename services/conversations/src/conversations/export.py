"""Exports: one conversation as Markdown or JSON, the whole account as JSON Lines.

Everything is read in keyset pages of `page_size` rows (by `seq` for messages, by
`(created_at, id)` for conversations), each page on a pooled connection taken for that
page only: an account with 100,000 messages is never in memory at once, and a slow
client holds no database connection between pages. The renderers turn the REST shapes
(ConversationPublic, MessagePublic) into chunks of text, so an export shows exactly what
the REST routes show.

A conversation deleted while it is being exported simply ends there: its next page is
empty, like the last page of any conversation.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from typing import Any, Final, TypeVar
from uuid import UUID

import orjson

from conversations import db, sql
from conversations.models import (
    ConversationPublic,
    ConversationRecord,
    MessagePublic,
    MessageRecord,
)
from conversations.rows import conversation as _conversation
from conversations.rows import execute as _execute
from conversations.rows import message as _message

EXPORT_PAGE_SIZE: Final = 500
R = TypeVar("R")

# The messages of one live conversation of the user after a `seq`, oldest first (the
# (conversation_id, seq) index serves it). No payload: an export shows what REST shows.
MESSAGES_AFTER: Final = f"""
SELECT {sql.MESSAGE_COLS_NO_PAYLOAD}
FROM conversations c JOIN messages m ON m.conversation_id = c.id
WHERE {sql.LIVE_CONV} AND m.seq > %(after_seq)s
ORDER BY m.seq
LIMIT %(limit)s
"""

# The same with the files each message was sent with (the ids its ChatKit item lists, as
# agent/attachment_parts.py reads them): their metadata only, never their bytes.
MESSAGES_WITH_FILES_AFTER: Final = f"""
SELECT {sql.MESSAGE_COLS_NO_PAYLOAD}, f.files
FROM conversations c JOIN messages m ON m.conversation_id = c.id
LEFT JOIN LATERAL (
  SELECT jsonb_agg(jsonb_build_object('id', a.id, 'name', a.name, 'mime_type', a.mime_type,
                                      'size', a.size) ORDER BY r.n) AS files
  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(m.payload -> 'item' -> 'attachments')
                                      = 'array'
                                 THEN m.payload -> 'item' -> 'attachments'
                                 ELSE '[]' END) WITH ORDINALITY AS r (ref, n)
  JOIN attachments a ON CAST(a.id AS text) = r.ref ->> 'id' AND a.conversation_id = c.id
) f ON true
WHERE {sql.LIVE_CONV} AND m.seq > %(after_seq)s
ORDER BY m.seq
LIMIT %(limit)s
"""

# The user's live conversations after a (created_at, id), oldest first: created_at never
# moves, so a conversation written to during the export is neither skipped nor repeated.
_CONVERSATIONS = f"""
SELECT {sql.CONV_COLS} FROM conversations c
WHERE c.user_id = %(user_id)s AND c.deleted_at IS NULL {{after}}
ORDER BY c.created_at, c.id
LIMIT %(limit)s
"""
CONVERSATIONS_FIRST: Final = _CONVERSATIONS.format(after="")
CONVERSATIONS_AFTER: Final = _CONVERSATIONS.format(
    after="AND (c.created_at, c.id) > (%(after_created_at)s, %(after_id)s)"
)


# ------------------------------------------------------------------------------- reading


def message_pages(
    pool: db.Pool, *, user_id: UUID, conversation_id: UUID, page_size: int = EXPORT_PAGE_SIZE
) -> AsyncIterator[list[MessageRecord]]:
    """Every message of the conversation, oldest first, in pages of at most `page_size`."""
    params = {"conversation_id": conversation_id, "user_id": user_id, "after_seq": 0}
    return _keyset_pages(
        pool, MESSAGES_AFTER, MESSAGES_AFTER, params, page_size, _message, _after_message
    )


Files = list[dict[str, Any]]  # id, name, mime_type and size of each


def message_pages_with_files(
    pool: db.Pool, *, user_id: UUID, conversation_id: UUID, page_size: int = EXPORT_PAGE_SIZE
) -> AsyncIterator[list[tuple[MessageRecord, Files]]]:
    """`message_pages`, each message with the metadata of the files it was sent with."""
    params = {"conversation_id": conversation_id, "user_id": user_id, "after_seq": 0}
    statement = MESSAGES_WITH_FILES_AFTER
    return _keyset_pages(
        pool,
        statement,
        statement,
        params,
        page_size,
        _message_with_files,
        _after_message_with_files,
    )


def _message_with_files(row: Any) -> tuple[MessageRecord, Files]:
    return _message(row[:-1]), list(row[-1] or ())


def _after_message_with_files(last: tuple[MessageRecord, Files]) -> dict[str, Any]:
    return _after_message(last[0])


def conversation_pages(
    pool: db.Pool, *, user_id: UUID, page_size: int = EXPORT_PAGE_SIZE
) -> AsyncIterator[list[ConversationRecord]]:
    """Every live conversation of the user, oldest first, in pages of at most `page_size`."""
    return _keyset_pages(
        pool,
        CONVERSATIONS_FIRST,
        CONVERSATIONS_AFTER,
        {"user_id": user_id},
        page_size,
        _conversation,
        _after_conversation,
    )


def _after_message(last: MessageRecord) -> dict[str, Any]:
    return {"after_seq": last.seq}


def _after_conversation(last: ConversationRecord) -> dict[str, Any]:
    return {"after_created_at": last.created_at, "after_id": last.id}


async def _keyset_pages(
    pool: db.Pool,
    first: str,
    after: str,
    params: dict[str, Any],
    page_size: int,
    record: Callable[[Any], R],
    cursor: Callable[[R], dict[str, Any]],
) -> AsyncIterator[list[R]]:
    """`first`, then `after` from the last row's `cursor`, a page at a time on a connection
    taken for that page only, until a page comes back short."""
    params = {**params, "limit": page_size}
    statement = first
    while True:
        async with db.connection(pool) as connection:
            rows = await (await _execute(connection, statement, params)).fetchall()
        page = [record(row) for row in rows]
        if page:
            yield page
        if len(page) < page_size:
            return
        statement = after
        params.update(cursor(page[-1]))


# ----------------------------------------------------------------------------- rendering

ConversationShape = Callable[[ConversationRecord], ConversationPublic]
MessageShape = Callable[[MessageRecord], MessagePublic]


def _json(model: ConversationPublic | MessagePublic) -> bytes:
    return orjson.dumps(model.model_dump(mode="json"))


async def conversation_json(
    conversation: ConversationPublic, messages: AsyncIterator[Iterable[MessagePublic]]
) -> AsyncIterator[bytes]:
    """`{"conversation": Conversation, "messages": [Message, ...]}`, written as it is read."""
    yield b'{"conversation":' + _json(conversation) + b',"messages":['
    separator = b""
    async for page in messages:
        chunk = b",".join(_json(message) for message in page)
        if chunk:
            yield separator + chunk
            separator = b","
    yield b"]}\n"


async def conversation_markdown(
    conversation: ConversationPublic, messages: AsyncIterator[Iterable[MessagePublic]]
) -> AsyncIterator[bytes]:
    """A readable document: the title, the times, then one section per message."""
    yield _markdown_header(conversation).encode()
    async for page in messages:
        yield "".join(_markdown_message(message) for message in page).encode()


def _markdown_header(conversation: ConversationPublic) -> str:
    return (
        f"# {_one_line(conversation.title or 'Untitled conversation')}\n\n"
        f"- Conversation: `{conversation.id}`\n"
        f"- Created: {_time(conversation.created_at)}\n"
        f"- Updated: {_time(conversation.updated_at)}\n"
    )


def _markdown_message(message: MessagePublic) -> str:
    status = "" if message.status == "complete" else f" ({message.status})"
    parts = [f"\n## {message.role.capitalize()}{status}, {_time(message.created_at)}\n\n"]
    if message.content:
        parts.append(message.content.rstrip("\n") + "\n")
    if message.tool_calls:
        calls = orjson.dumps(message.tool_calls, option=orjson.OPT_INDENT_2).decode()
        parts.append(f"\nTool calls:\n\n{_fenced(calls, 'json')}")
    return "".join(parts)


def _fenced(text: str, language: str) -> str:
    # A fence longer than any run of backticks inside, so the content cannot close it.
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _time(moment: datetime) -> str:
    return moment.isoformat()


async def account_lines(
    pool: db.Pool,
    *,
    user_id: UUID,
    conversation_shape: ConversationShape,
    message_shape: MessageShape,
    page_size: int = EXPORT_PAGE_SIZE,
) -> AsyncIterator[bytes]:
    """JSON Lines: `{"type": "conversation", "conversation": {...}}`, then one
    `{"type": "message", "message": {...}}` line per message of it, oldest first; a
    message sent with files has `"attachments": [{id, name, mime_type, size}, ...]` too."""
    async for conversations in conversation_pages(pool, user_id=user_id, page_size=page_size):
        for record in conversations:
            yield _line("conversation", conversation_shape(record))
            pages = message_pages_with_files(
                pool, user_id=user_id, conversation_id=UUID(record.id), page_size=page_size
            )
            async for messages in pages:
                yield b"".join(
                    _line("message", message_shape(m), attachments=files) for m, files in messages
                )


def _line(
    kind: str, model: ConversationPublic | MessagePublic, attachments: Files | None = None
) -> bytes:
    line: dict[str, Any] = {"type": kind, kind: model.model_dump(mode="json")}
    if attachments:
        line["attachments"] = attachments
    return orjson.dumps(line) + b"\n"


# ------------------------------------------------------------------------------ naming


def slug(title: str | None, *, max_chars: int = 60) -> str:
    """A file-name-safe form of a title ("conversation" when nothing is left)."""
    words = re.sub(r"[^a-z0-9]+", "-", (title or "").lower()).strip("-")
    return words[:max_chars].rstrip("-") or "conversation"
