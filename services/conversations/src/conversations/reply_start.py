"""The reply to a user message already stored: ChatKit's turns (the SDK stores the user's
item before it responds, and a retry keeps it and asks for a new reply).

StartTurn stores a user message and its reply together; StartReply only starts the reply,
with the same per-user budget and the same atomicity (budgets.py: the user's advisory
lock, then the charge, then the insert, in one implicit transaction). It is idempotent per
user message: while a reply to it exists (reply_to), that reply is returned, and nothing
is stored or charged. A retry (ChatKit's retry_after_item) replaces it: in the same
transaction, after the charge, the rows after the user message are deleted and a new
reply is started, so a refused retry keeps the old reply (nothing is deleted).

A continuation (ChatKit's client tool output, structured input's answers) goes on with a
turn without a new user message: its anchor is the row the turn goes on from, a `tool`
result or an answered structured-input item, with the same budget and idempotency, so a
repeated continuation is no free model call.
"""

from __future__ import annotations

import uuid
from typing import Any, Final
from uuid import UUID

from chat_common.errors import InvalidInput, NotFound

from conversations import budgets
from conversations.checks import check_limit
from conversations.models import StartedReply
from conversations.rows import Connection, domain_errors, message
from conversations.sql import LIVE_CONV, MESSAGE_COLS, TURN_HISTORY

# Locks the user message, so two StartReplies for it run one after the other. A statement
# of its own: START_REPLY's snapshot is then taken after the wait and sees the reply the
# other one committed.
LOCK_USER_MESSAGE: Final = """
SELECT 1 FROM messages m
WHERE m.id = %(user_message_id)s AND m.conversation_id = %(conversation_id)s
  AND m.user_id = %(user_id)s
FOR UPDATE
"""

# A retry's deletion: every row after the user message in this user's live conversation
# (as DeleteMessage, one by one, would; the usage ledger keeps what they spent).
DELETE_AFTER_USER_MESSAGE: Final = f"""
DELETE FROM messages AS m USING conversations c, messages u
WHERE {LIVE_CONV} AND u.id = %(user_message_id)s AND u.conversation_id = c.id
  AND u.role = 'user' AND m.conversation_id = c.id AND m.seq > u.seq
"""

# The rows a continuation may go on from: a tool result, or an answered structured input.
_CONTINUES_FROM: Final = """
  m.role = 'tool' OR (m.role = 'assistant' AND m.payload->'item'->>'type' = 'structured_input'
    AND m.payload->'item'->>'status' IN ('answered', 'skipped'))"""

# The existing reply to the anchor row, or a new empty in-progress one; each row ends with
# `replayed`. No row: the anchor is not one of this live conversation's (of its kind).
START_REPLY: Final = f"""
WITH conv AS (
  SELECT c.id FROM conversations c WHERE {LIVE_CONV} FOR UPDATE
), u AS (
  SELECT m.id FROM messages m JOIN conv ON m.conversation_id = conv.id
  WHERE m.id = %(user_message_id)s
    AND CASE WHEN %(continuation)s THEN {_CONTINUES_FROM} ELSE m.role = 'user' END
), existing AS (
  SELECT {MESSAGE_COLS}, true AS replayed FROM messages m JOIN u ON m.reply_to = u.id
  WHERE m.conversation_id = %(conversation_id)s
  ORDER BY m.seq LIMIT 1
), a AS (
  INSERT INTO messages AS m (id, conversation_id, user_id, role, content, status, reply_to)
  SELECT %(assistant_message_id)s, %(conversation_id)s, %(user_id)s, 'assistant', '',
         'in_progress', u.id
  FROM u WHERE NOT EXISTS (SELECT 1 FROM existing)
  RETURNING {MESSAGE_COLS}, false AS replayed
), bump AS (
  UPDATE conversations AS c SET updated_at = now()
  WHERE c.id = %(conversation_id)s AND EXISTS (SELECT 1 FROM a)
)
SELECT * FROM a UNION ALL SELECT * FROM existing
"""


async def start_reply(
    db: Connection,
    *,
    user_id: UUID,
    conversation_id: UUID,
    user_message_id: UUID,
    history_limit: int = 0,
    max_history: int = 100,
    budget: budgets.TurnBudget = budgets.UNLIMITED,
    continuation: bool = False,
    retry: bool = False,
) -> StartedReply:
    """The reply to the stored user message `user_message_id`, or with `continuation` to
    the row the turn goes on from (see the module docstring). Over the user's `budget` it
    is RateLimited and stores nothing. With `retry`, the rows after the user message are
    deleted first (never a replay); a continuation is no retry."""
    if retry and continuation:
        raise InvalidInput("a continuation cannot be retried")
    if history_limit:
        check_limit(history_limit, max_history)
    params: dict[str, Any] = {
        "conversation_id": conversation_id,
        "user_id": user_id,
        "user_message_id": user_message_id,
        "assistant_message_id": uuid.uuid4(),
        "idempotency_key": None,  # TURN_HISTORY finds the user message by its id
        "history_limit": history_limit,
        "continuation": continuation,
        "retry": retry,
    }
    with domain_errors(), budgets.refusals(budget):
        async with db.pipeline():
            await budgets.charge(db, budget=budget, turn=params, reply=True)
            await db.execute(LOCK_USER_MESSAGE, params)
            if retry:
                await db.execute(DELETE_AFTER_USER_MESSAGE, params)
            started = await db.execute(START_REPLY, params)
            history = await db.execute(TURN_HISTORY, params) if history_limit else None
    row = await started.fetchone()
    if row is None:
        raise NotFound("message not found")
    return StartedReply(
        assistant_message=message(row[:-1]),
        replayed=bool(row[-1]),
        history=[message(r) for r in await history.fetchall()] if history else None,
    )
