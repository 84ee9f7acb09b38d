"""`POST /chatkit`: the ChatKit protocol. Streaming request types answer `text/event-stream`,
the others JSON; a missing or foreign thread or item is a 404 before anything streams."""

from __future__ import annotations

import re

from chatkit.server import StreamingResult
from chatkit.store import NotFoundError
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

from agent.chatkit.actions import loaded_actions
from agent.chatkit.attachments import ConversationsAttachments, public_url
from agent.chatkit.context import ChatContext
from agent.chatkit.server import ChatServer
from agent.chatkit.store import ConversationsStore
from agent.deps import CurrentUser, StateDep

router = APIRouter(tags=["chatkit"])

_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# A BCP 47 language tag; anything else in Accept-Language is ignored (it reaches the model).
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8}){0,3}")


def first_language(header: str | None) -> str | None:
    """The user's preferred language from Accept-Language (`*` and junk: none)."""
    if not header:
        return None
    tag = header.split(",", 1)[0].split(";", 1)[0].strip()
    return tag if _LANGUAGE_TAG.fullmatch(tag) else None


@router.post(
    "/chatkit",
    summary="The ChatKit protocol (openai-chatkit SDK)",
    responses={
        200: {"description": "JSON, or `text/event-stream` for streaming request types"},
        404: {"description": "Unknown, deleted or another user's thread or item"},
        422: {"description": "Not a ChatKit request, or bad input"},
    },
)
async def chatkit(request: Request, user: CurrentUser, state: StateDep) -> Response:
    # Built per request (two small objects); everything it holds is process-wide already.
    settings = state.settings
    server = ChatServer(
        ConversationsStore(state.conversations, state.pipeline),
        attachments=ConversationsAttachments(state.conversations),
        attachments_per_message=settings.attachments_per_message,
        max_chars=settings.message_max_chars,
        models=settings.allowed_models(),
        title_from_model=settings.title_from_model,
        actions=loaded_actions(tuple(settings.tool_module_names())),
    )
    context = ChatContext(auth=user, locale=first_language(request.headers.get("accept-language")))
    context.public_url = settings.public_url or public_url(request)
    try:
        result = await server.process(await request.body(), context)
    except ValidationError:
        return JSONResponse({"detail": "not a valid ChatKit request"}, status_code=422)
    except NotFoundError as exc:
        return JSONResponse({"detail": str(exc) or "not found"}, status_code=404)
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream", headers=_SSE_HEADERS)
    return Response(result.json, media_type="application/json")
