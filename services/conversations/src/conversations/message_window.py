"""The page of a conversation's messages around one of them (`…/messages?around=<id>`).

The chat page opens a search hit however far back it is: this page holds the message,
up to half a page older than it before it, and newer ones after it. It is made of the
keyset pages `store.list_messages` reads (`before` the message, then `after` the last
older one), so the page is paged on exactly like the others: `before=<first id>` while
`has_more`, `after=<last id>` while `has_newer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from chat_common.errors import InvalidInput, NotFound

from conversations.checks import check_limit
from conversations.models import MessageRecord, MessageSlice
from conversations.store import Connection, list_messages

MAX_LIMIT: Final = 100


@dataclass(frozen=True, slots=True)
class MessageWindow:
    messages: list[MessageRecord]
    has_more: bool  # older messages than the first exist
    has_newer: bool  # newer messages than the last exist


async def messages_around(
    db: Connection, *, user_id: UUID, conversation_id: UUID, message_id: UUID, limit: int
) -> MessageWindow:
    """NotFound for another user's (or a deleted) conversation and for a message id that
    is not one of this conversation's. A `limit` below 2 is taken as 2."""
    check_limit(limit, MAX_LIMIT)
    limit = max(limit, 2)

    async def page(**window: Any) -> MessageSlice:
        return await list_messages(
            db, user_id=user_id, conversation_id=conversation_id, with_payload=False, **window
        )

    try:
        older = await page(before=message_id, limit=limit // 2)
    except InvalidInput as error:  # the anchor is not a message of this conversation
        raise NotFound("message not found") from error
    rest_limit = limit - len(older.messages)
    if older.messages:
        rest = await page(after=UUID(older.messages[-1].id), limit=rest_limit)
    else:
        rest = await page(oldest_first=True, limit=rest_limit)
    if not rest.messages or UUID(rest.messages[0].id) != message_id:
        raise NotFound("message not found")  # deleted between the two reads
    return MessageWindow(older.messages + rest.messages, older.has_more, rest.has_more)
