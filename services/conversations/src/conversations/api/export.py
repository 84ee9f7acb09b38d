"""The export door: one conversation as Markdown or JSON, the whole account as JSON Lines.

Both stream (`export.py` reads keyset pages on a connection per page). The conversation
is looked up before the response starts, so an unknown, deleted or another user's one is
a plain 404. `X-Accel-Buffering: no` asks the gateway (nginx) to pass the stream on as it
comes instead of spooling it to disk, so a slow download slows the reads down too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from conversations import db, export, store
from conversations.api.routes import conversation_public, message_public
from conversations.deps import CurrentUser, StateDep
from conversations.models import MessagePublic, MessageRecord

router = APIRouter(prefix="/api/chat", tags=["export"])

Format = Literal["md", "json"]
MEDIA_TYPES: dict[str, str] = {"md": "text/markdown; charset=utf-8", "json": "application/json"}
JSON_LINES = "application/x-ndjson"

_EXPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["conversation", "messages"],
    "properties": {
        "conversation": {"$ref": "#/components/schemas/ConversationPublic"},
        "messages": {"type": "array", "items": {"$ref": "#/components/schemas/MessagePublic"}},
    },
}
CONVERSATION_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The conversation (`format=json`, the default, or `format=md`)",
        "content": {"application/json": {"schema": _EXPORT_SCHEMA}, "text/markdown": {}},
    },
    404: {"description": "Unknown, deleted or another user's conversation"},
}
ACCOUNT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON Lines: a conversation line, then one line per message of it",
        "content": {JSON_LINES: {}},
    },
}


@router.get(
    "/conversations/{conversation_id}/export",
    response_class=StreamingResponse,
    responses=CONVERSATION_RESPONSES,
)
async def export_conversation(
    conversation_id: UUID,
    user: CurrentUser,
    state: StateDep,
    format: Annotated[Format, Query()] = "json",
) -> StreamingResponse:
    """The conversation and every message of it, oldest first, with tool calls,
    statuses and times."""
    async with db.connection(state.pool) as connection:
        record = await store.get_conversation(
            connection, user_id=user, conversation_id=conversation_id
        )
    conversation = conversation_public(record)
    pages = _public_pages(
        export.message_pages(state.pool, user_id=user, conversation_id=conversation_id)
    )
    render = export.conversation_markdown if format == "md" else export.conversation_json
    filename = f"{export.slug(conversation.title)}-{conversation.id}.{format}"
    return _download(render(conversation, pages), MEDIA_TYPES[format], filename)


@router.get("/export", response_class=StreamingResponse, responses=ACCOUNT_RESPONSES)
async def export_account(user: CurrentUser, state: StateDep) -> StreamingResponse:
    """Every live conversation of the caller, oldest first, each followed by its
    messages, as JSON Lines (`{"type": "conversation" | "message", ...}`)."""
    lines = export.account_lines(
        state.pool,
        user_id=user,
        conversation_shape=conversation_public,
        message_shape=message_public,
    )
    filename = f"chat-export-{datetime.now(UTC):%Y-%m-%d}.jsonl"
    return _download(lines, JSON_LINES, filename)


async def _public_pages(
    pages: AsyncIterator[list[MessageRecord]],
) -> AsyncIterator[Iterable[MessagePublic]]:
    async for page in pages:
        yield [message_public(record) for record in page]


def _download(body: AsyncIterator[bytes], media_type: str, filename: str) -> StreamingResponse:
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",
    }
    return StreamingResponse(body, media_type=media_type, headers=headers)
