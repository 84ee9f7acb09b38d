"""The REST door: thin handlers over `store` (which holds every rule).

`POST /api/chat/conversations/{id}/messages` (a turn) is served by the agent.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import orjson
from chat_common.errors import InvalidInput
from fastapi import APIRouter, Query, Response, status

from conversations import feedback, store
from conversations.deps import CurrentUser, SessionDep
from conversations.message_window import messages_around
from conversations.models import (
    ConversationCreate,
    ConversationPage,
    ConversationPublic,
    ConversationRecord,
    ConversationUpdate,
    FeedbackCounts,
    MessagePage,
    MessagePublic,
    MessageRecord,
    MessageWindowPage,
)
from conversations.patches import ConversationPatch

router = APIRouter(prefix="/api/chat/conversations", tags=["conversations"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown, deleted or another user's conversation"}
}


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_conversation(
    user: CurrentUser, db: SessionDep, body: ConversationCreate | None = None
) -> ConversationPublic:
    title = body.title if body is not None else None
    return conversation_public(await store.create_conversation(db, user_id=user, title=title))


@router.get("")
async def list_conversations(
    user: CurrentUser,
    db: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = store.DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> ConversationPage:
    """Newest `updated_at` first; pass `next_cursor` back as `cursor` for the next page."""
    page = await store.list_conversations(db, user_id=user, limit=limit, cursor=cursor)
    items = [conversation_public(c) for c in page.conversations]
    return ConversationPage(items=items, next_cursor=page.next_cursor)


@router.get("/{conversation_id}", responses=NOT_FOUND)
async def get_conversation(
    conversation_id: UUID, user: CurrentUser, db: SessionDep
) -> ConversationPublic:
    record = await store.get_conversation(db, user_id=user, conversation_id=conversation_id)
    return conversation_public(record)


@router.patch("/{conversation_id}", responses=NOT_FOUND)
async def rename_conversation(
    conversation_id: UUID, body: ConversationUpdate, user: CurrentUser, db: SessionDep
) -> ConversationPublic:
    patch = ConversationPatch(title=body.title)
    record = await store.update_conversation(
        db, user_id=user, conversation_id=conversation_id, patch=patch
    )
    return conversation_public(record)


@router.delete("/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_conversation(conversation_id: UUID, user: CurrentUser, db: SessionDep) -> Response:
    await store.delete_conversation(db, user_id=user, conversation_id=conversation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{conversation_id}/messages", responses=NOT_FOUND)
async def list_messages(
    conversation_id: UUID,
    user: CurrentUser,
    db: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = store.DEFAULT_HISTORY_SIZE,
    before: UUID | None = None,
    after: UUID | None = None,
    around: UUID | None = None,
) -> MessagePage | MessageWindowPage:
    """Oldest first. No cursor: the latest `limit`; `before`/`after` a message id: the
    page older than it, or what came after it (polling); `around` a message id: the page
    holding it (a search hit), with `has_newer` to page on with `after`."""
    if around is not None:
        if before is not None or after is not None:
            raise InvalidInput("give around alone, without before or after")
        window = await messages_around(
            db, user_id=user, conversation_id=conversation_id, message_id=around, limit=limit
        )
        items = [message_public(m) for m in window.messages]
        return MessageWindowPage(items=items, has_more=window.has_more, has_newer=window.has_newer)
    page = await store.list_messages(
        db,
        user_id=user,
        conversation_id=conversation_id,
        limit=limit,
        before=before,
        after=after,
        with_payload=False,  # a Message shows no payload: never read the column
    )
    return MessagePage(items=[message_public(m) for m in page.messages], has_more=page.has_more)


@router.get("/{conversation_id}/feedback", responses=NOT_FOUND)
async def feedback_counts(
    conversation_id: UUID, user: CurrentUser, db: SessionDep
) -> FeedbackCounts:
    """How many of the conversation's replies were voted up and down (ChatKit feedback)."""
    return await feedback.feedback_counts(db, user_id=user, conversation_id=conversation_id)


@router.put("/{conversation_id}/messages/{message_id}/feedback", responses=NOT_FOUND)
async def set_message_feedback(
    conversation_id: UUID,
    message_id: UUID,
    body: feedback.FeedbackVote,
    user: CurrentUser,
    db: SessionDep,
) -> MessagePublic:
    """Votes a reply up or down (`null` clears the vote); only assistant messages take one."""
    record = await feedback.set_reply_feedback(
        db,
        user_id=user,
        conversation_id=conversation_id,
        message_id=message_id,
        feedback=body.feedback,
    )
    return message_public(record)


def conversation_public(record: ConversationRecord) -> ConversationPublic:
    return ConversationPublic(
        id=record.id,  # type: ignore[arg-type]  # pydantic parses the UUID text
        title=record.title,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def message_public(record: MessageRecord) -> MessagePublic:
    return MessagePublic(
        id=record.id,  # type: ignore[arg-type]  # pydantic parses the UUID text
        conversation_id=record.conversation_id,  # type: ignore[arg-type]
        role=record.role,  # type: ignore[arg-type]  # the table's CHECK keeps it a Role
        content=record.content,
        tool_calls=orjson.loads(record.tool_calls_json) if record.tool_calls_json else None,
        status=record.status,  # type: ignore[arg-type]  # likewise a Status
        created_at=record.created_at,
        feedback=record.feedback,  # type: ignore[arg-type]  # the CHECK keeps it a kind
    )
