"""ChatKit feedback on messages: one statement for a whole (bounded) set of ids.

The agent's ChatKit store reads feedback from a message's payload
(`{"item": ..., "feedback": "positive"|"negative", "feedback_at": <ISO time>}`), so the
statement sets exactly those keys with jsonb operators and leaves the rest of the payload;
it also sets the `feedback` column (migration 0008), which REST shows and counts. REST
votes on one reply (`PUT …/messages/{id}/feedback`) go through the same statement.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Final, Literal
from uuid import UUID

from chat_common.errors import InvalidInput, NotFound
from pydantic import ConfigDict
from sqlmodel import SQLModel

from conversations import sql, store
from conversations.models import FeedbackCounts, MessageRecord
from conversations.rows import Connection, found

# At most this many distinct messages per call (a ChatKit feedback names a few items).
FEEDBACK_MAX_IDS: Final = 50
FEEDBACK_KINDS: Final = ("positive", "negative")

# The votes on one live conversation's replies (no row: not the caller's, or deleted).
FEEDBACK_COUNTS: Final = f"""
SELECT count(*) FILTER (WHERE m.feedback = 'positive'),
       count(*) FILTER (WHERE m.feedback = 'negative')
FROM conversations c
LEFT JOIN messages m ON m.conversation_id = c.id AND m.feedback IS NOT NULL
WHERE {sql.LIVE_CONV}
GROUP BY c.id
"""


async def set_feedback(
    db: Connection,
    *,
    user_id: UUID,
    conversation_id: UUID,
    message_ids: list[UUID],
    feedback: str | None,
) -> int:
    """Sets (None: clears) the ChatKit feedback of up to FEEDBACK_MAX_IDS distinct
    messages of one conversation in one statement; returns how many. All or nothing: an
    id that is not a message of this conversation is NotFound and nothing changes."""
    distinct = list(dict.fromkeys(message_ids))
    if not 0 < len(distinct) <= FEEDBACK_MAX_IDS:
        raise InvalidInput(f"give 1..{FEEDBACK_MAX_IDS} distinct message ids")
    if feedback is not None and feedback not in FEEDBACK_KINDS:
        raise InvalidInput(f"feedback must be one of {', '.join(FEEDBACK_KINDS)} (or empty)")
    params = {
        "conversation_id": conversation_id,
        "user_id": user_id,
        "message_ids": distinct,
        "count": len(distinct),
        "feedback": feedback,
        # The format the agent's ChatKit store has always written.
        "feedback_at": datetime.now(UTC).isoformat(),
    }
    conversations, changed = await found(db, sql.SET_FEEDBACK, params, "conversation")
    if not conversations:
        raise NotFound("conversation not found")
    if changed != len(distinct):
        raise NotFound("message not found")
    return int(changed)


class FeedbackVote(SQLModel):
    """The body of a REST vote on one reply."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    # Required, so an empty body is an error rather than a silent clear; null clears it.
    feedback: Literal["positive", "negative"] | None


async def set_reply_feedback(
    db: Connection,
    *,
    user_id: UUID,
    conversation_id: UUID,
    message_id: UUID,
    feedback: str | None,
) -> MessageRecord:
    """The REST vote on one reply: the same write as ChatKit's SetFeedback, but only an
    assistant message takes a vote (the chat page shows thumbs on replies alone)."""
    message = await store.get_message(
        db, user_id=user_id, conversation_id=conversation_id, message_id=message_id
    )
    if message.role != "assistant":
        raise InvalidInput("only an assistant message takes feedback")
    await set_feedback(
        db,
        user_id=user_id,
        conversation_id=conversation_id,
        message_ids=[message_id],
        feedback=feedback,
    )
    return replace(message, feedback=feedback)


async def feedback_counts(
    db: Connection, *, user_id: UUID, conversation_id: UUID
) -> FeedbackCounts:
    """How many of the conversation's replies were voted up and down."""
    params = {"conversation_id": conversation_id, "user_id": user_id}
    positive, negative = await found(db, FEEDBACK_COUNTS, params, "conversation")
    return FeedbackCounts(positive=positive, negative=negative)
