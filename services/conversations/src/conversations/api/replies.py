"""One reply of a conversation: `…/messages/{message_id}/cancel` and `…/events` (SSE).

The events stream holds no pooled connection while it waits: each re-read borrows one.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from chat_common.deps import AppState
from chat_common.errors import InvalidInput
from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse

from conversations import db, replies
from conversations.api.routes import message_public
from conversations.deps import CurrentUser, SessionDep, StateDep
from conversations.models import MessagePublic, MessageRecord
from conversations.reply_events import ReplyListener, follow_reply

router = APIRouter(prefix="/api/chat/conversations", tags=["conversations"])

LISTENER: AppState[ReplyListener] = AppState("reply_listener")
ListenerDep = Annotated[ReplyListener, Depends(LISTENER)]

NOT_A_REPLY: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown or another user's conversation, or not an assistant reply"}
}

EVENTS_DESCRIPTION = """\
Follows one assistant reply, written by any agent replica, until its final state.
Sends what is stored so far, then the rest as it is stored:
- `event: delta`, `id: N`, `data: {"text": "..."}`: new text; N counts the characters
  (code points) of the reply sent so far, this delta included;
- `event: done`, `id: N`, `data: Message`: the final reply (`complete`, `failed` or
  `interrupted`), then the stream ends;
- `: keepalive` comment lines while nothing happens.
`Last-Event-ID: N` (or `?last_event_id=N`) resumes after character N.
"""


@router.post("/{conversation_id}/messages/{message_id}/cancel", responses=NOT_A_REPLY)
async def cancel_reply(
    conversation_id: UUID, message_id: UUID, user: CurrentUser, db: SessionDep
) -> MessagePublic:
    """Stops a reply in progress: it ends `interrupted` with its text so far, and the
    agent writing it stops its model. A final reply is returned unchanged (idempotent)."""
    record = await replies.cancel_reply(
        db, user_id=user, conversation_id=conversation_id, message_id=message_id
    )
    return message_public(record)


@router.get(
    "/{conversation_id}/messages/{message_id}/events",
    description=EVENTS_DESCRIPTION,
    responses={
        **NOT_A_REPLY,
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}},
    },
    response_class=StreamingResponse,
)
async def reply_events(
    conversation_id: UUID,
    message_id: UUID,
    user: CurrentUser,
    state: StateDep,
    listener: ListenerDep,
    last_event_id: Annotated[int | None, Query(ge=0)] = None,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    sent = _resume_point(last_event_id, last_event_id_header)

    async def read() -> MessageRecord:
        async with db.connection(state.pool) as conn:
            return await replies.get_reply(
                conn, user_id=user, conversation_id=conversation_id, message_id=message_id
            )

    first = await read()  # 404 before any byte is streamed
    events = follow_reply(
        listener, first, read, lambda reply: message_public(reply).model_dump_json(), sent=sent
    )
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _resume_point(query: int | None, header: str | None) -> int:
    if header is None or not header.strip():
        return query or 0
    if not header.strip().isdigit():
        raise InvalidInput("Last-Event-ID must be a number of characters")
    return int(header.strip())
