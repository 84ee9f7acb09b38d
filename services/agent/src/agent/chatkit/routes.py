"""`POST /chatkit`: the ChatKit protocol. Streaming request types answer `text/event-stream`,
the others JSON; a missing or foreign thread or item is a 404 before anything streams."""

from __future__ import annotations

from chatkit.server import StreamingResult
from chatkit.store import NotFoundError
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

from agent.chatkit.context import ChatContext
from agent.chatkit.server import ChatServer
from agent.chatkit.store import ConversationsStore
from agent.deps import CurrentUser, StateDep

router = APIRouter(tags=["chatkit"])

_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


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
    server = ChatServer(
        ConversationsStore(state.conversations, state.pipeline),
        max_chars=state.settings.message_max_chars,
    )
    try:
        result = await server.process(await request.body(), ChatContext(auth=user))
    except ValidationError:
        return JSONResponse({"detail": "not a valid ChatKit request"}, status_code=422)
    except NotFoundError as exc:
        return JSONResponse({"detail": str(exc) or "not found"}, status_code=404)
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream", headers=_SSE_HEADERS)
    return Response(result.json, media_type="application/json")
