"""One assistant reply as its own resource: reading it, and cancelling it.

A reply is an assistant message. Cancelling one that is `in_progress` ends it
`interrupted` with the text stored so far, in one conditional UPDATE; the agent writing
it learns at its next write (content or heartbeat: FailedPrecondition, a final state is
final) and stops its model. Cancelling a final reply changes nothing. A user or tool
message, like another user's or an unknown one, is NotFound.
"""

from __future__ import annotations

from typing import Final
from uuid import UUID

from chat_common.errors import NotFound

from conversations import store
from conversations.models import MessageRecord
from conversations.rows import Connection, message, one_or_none
from conversations.sql import LIVE_CONV, MESSAGE_COLS_NO_PAYLOAD

CANCEL_REPLY: Final = f"""
UPDATE messages AS m SET status = 'interrupted', updated_at = now()
FROM conversations c
WHERE {LIVE_CONV} AND m.conversation_id = c.id AND m.id = %(message_id)s
  AND m.role = 'assistant' AND m.status = 'in_progress'
RETURNING {MESSAGE_COLS_NO_PAYLOAD}
"""


async def get_reply(
    db: Connection, *, user_id: UUID, conversation_id: UUID, message_id: UUID
) -> MessageRecord:
    """The stored assistant message; NotFound for any other message."""
    record = await store.get_message(
        db, user_id=user_id, conversation_id=conversation_id, message_id=message_id
    )
    if record.role != "assistant":
        raise NotFound("message not found")
    return record


async def cancel_reply(
    db: Connection, *, user_id: UUID, conversation_id: UUID, message_id: UUID
) -> MessageRecord:
    """The reply, `interrupted` if it was still `in_progress` (idempotent)."""
    params = {"conversation_id": conversation_id, "user_id": user_id, "message_id": message_id}
    row = await one_or_none(db, CANCEL_REPLY, params)
    if row is not None:
        return message(row)
    return await get_reply(db, **params)
