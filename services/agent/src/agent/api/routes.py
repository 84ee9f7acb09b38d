"""`POST /api/chat/conversations/{id}/messages`: one turn, as JSON or as SSE."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

import orjson
from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import DomainError, InvalidInput
from chat_common.limits import IDEMPOTENCY_KEY_MAX_CHARS
from fastapi import APIRouter, Header, Request
from fastapi.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from agent.background import spawn
from agent.context import RequestContext
from agent.deps import CurrentUser, PipelineDep, SettingsDep
from agent.schemas import SendMessage, TurnFailedOut, TurnOut, message_dict
from agent.turn_events import (
    ReplyDelta,
    ReplyDone,
    ReplyEvent,
    ReplyStarted,
    ReplyToolCalls,
    ReplyToolProgress,
    ReplyToolResult,
    StartedTurn,
)
from agent.turns import ReplyStream, TurnPipeline

log = logging.getLogger(__name__)
router = APIRouter(tags=["messages"])

SSE_DESCRIPTION = """\
Sends a user message and runs the assistant's turn. The user message is stored
before the model is called; the reply is stored as it is generated.

**JSON** (`Accept: application/json` or none): `201 {user_message, assistant_message}`.
If the model fails: `502` (timeout: `504`) `{detail, assistant_message}`, with the user
message kept and the reply stored as `failed` with what was generated.

**SSE** (`Accept: text/event-stream`): `200`, events `event: <name>\\ndata: <json>\\n\\n`:
1. `user_message`: the stored user Message;
2. `assistant_started`: the stored assistant Message (`in_progress`, empty);
3. `delta` `{"text": "..."}`: zero or more pieces of the reply, in order;
4. then exactly one of `assistant_message` (the final stored Message, `complete`)
   or `error` `{"detail": "...", "assistant_message": Message}` (`failed`).
When the model calls tools, before the final event come `tool_calls`
`{"assistant_message": Message}` (the reply so far, with its `tool_calls`),
`tool_result` `{"message": Message}` (a stored `tool` message) per call, and
another `assistant_started` for the message that continues the reply. A client
that disconnects does not stop the reply: it goes on to its final state (follow it with
`GET …/messages/{message_id}/events`); `POST …/messages/{message_id}/cancel` stops it.

**Idempotency-Key**: a repeat with the same key and body (also while the first
is running) returns the same turn without running another; the same key with
another body is `409`.
"""


def _json(content: Any, status: int) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


@router.post(
    "/api/chat/conversations/{conversation_id}/messages",
    status_code=201,
    summary="Send a message and get the assistant's reply (JSON or SSE)",
    description=SSE_DESCRIPTION,
    response_model=TurnOut,
    responses={
        201: {"content": {"text/event-stream": {"schema": {"type": "string"}}}},
        404: {"description": "Unknown, deleted or another user's conversation"},
        409: {"description": "Idempotency-Key reused with another body"},
        502: {"model": TurnFailedOut, "description": "The model failed"},
        504: {"model": TurnFailedOut, "description": "The model timed out"},
    },
)
async def send_message(
    conversation_id: UUID,
    body: SendMessage,
    user: CurrentUser,
    pipeline: PipelineDep,
    settings: SettingsDep,
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", min_length=1, max_length=IDEMPOTENCY_KEY_MAX_CHARS),
    ] = None,
) -> Response:
    if not body.content.strip():
        raise InvalidInput("content must not be empty")
    if len(body.content) > settings.message_max_chars:
        raise InvalidInput(f"content is longer than {settings.message_max_chars} characters")
    turn = await pipeline.start_turn(
        user, str(conversation_id), body.content, idempotency_key=idempotency_key
    )
    if "text/event-stream" in request.headers.get("accept", ""):
        return _event_stream(pipeline, user, turn)
    return await _json_turn(pipeline, user, turn)


async def _json_turn(pipeline: TurnPipeline, ctx: RequestContext, turn: StartedTurn) -> Response:
    if turn.replayed:
        final = await pipeline.wait_for_reply(ctx, turn.assistant_message)
        failed = "the model failed" if final.status == "failed" else None
        return _turn_answer(turn.user_message, final, failed, timeout=False)
    done: ReplyDone | None = None
    async with pipeline.reply(ctx, turn.assistant_message, history=turn.history) as events:
        async for event in events:
            if isinstance(event, ReplyDone):
                done = event
    assert done is not None
    error = done.error
    return _turn_answer(
        turn.user_message,
        done.message,
        error.detail if error else None,
        timeout=bool(error and error.timeout),
    )


def _turn_answer(
    user_message: pb.Message, reply: pb.Message, error: str | None, *, timeout: bool
) -> Response:
    if error is None:
        body = {
            "user_message": message_dict(user_message),
            "assistant_message": message_dict(reply),
        }
        return _json(body, 201)
    return _json(
        {"detail": error, "assistant_message": message_dict(reply)}, 504 if timeout else 502
    )


def _sse(event: str, data: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _sse_event(event: ReplyEvent) -> bytes:
    if isinstance(event, ReplyDelta):
        return _sse("delta", {"text": event.text})
    if isinstance(event, ReplyDone):
        if event.error is None:
            return _sse("assistant_message", message_dict(event.message))
        body = {"detail": event.error.detail, "assistant_message": message_dict(event.message)}
        return _sse("error", body)
    if isinstance(event, ReplyToolCalls):
        return _sse("tool_calls", {"assistant_message": message_dict(event.message)})
    if isinstance(event, ReplyToolResult):
        return _sse("tool_result", {"message": message_dict(event.message)})
    if isinstance(event, ReplyToolProgress):
        return b""  # progress is ChatKit's; the REST stream's events are the contract's
    assert isinstance(event, ReplyStarted)
    return _sse("assistant_started", message_dict(event.message))


def _event_stream(pipeline: TurnPipeline, ctx: RequestContext, turn: StartedTurn) -> Response:
    if turn.replayed:
        replayed = _replayed_events(pipeline, ctx, turn)
        return EventStreamResponse(_after_start(turn, replayed), on_close=None)
    reply = DetachedReply(pipeline.reply(ctx, turn.assistant_message, history=turn.history))
    return EventStreamResponse(_after_start(turn, reply.chunks()), on_close=reply.detach)


async def _after_start(turn: StartedTurn, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield _sse("user_message", message_dict(turn.user_message))
    yield _sse("assistant_started", message_dict(turn.assistant_message))
    async for chunk in chunks:
        yield chunk


class DetachedReply:
    """A REST turn's reply, run in a background task: it reaches its final state whether
    or not its client stays. The response reads the events from a queue; a client going
    away only stops the reading (a cancel, the model timeout or max tokens end the reply)."""

    def __init__(self, reply: ReplyStream) -> None:
        self._chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._attached = True
        self._reply = reply
        spawn(self._run())  # held by background.py until it ends

    async def chunks(self) -> AsyncIterator[bytes]:
        while (chunk := await self._chunks.get()) is not None:
            yield chunk

    async def detach(self) -> None:
        self._attached = False
        self._chunks = asyncio.Queue()  # drop what nobody will read

    async def _run(self) -> None:
        reply = self._reply
        try:
            async with reply:
                async for event in reply:
                    if chunk := _sse_event(event):  # empty: an event REST does not send
                        self._put(chunk)
        except DomainError as exc:  # the store failed mid-turn; headers are long gone
            body = {"detail": exc.message, "assistant_message": message_dict(reply.message)}
            self._put(_sse("error", body))
        except Exception:
            log.exception("reply %s failed", reply.message.id)
        finally:
            self._put(None)

    def _put(self, chunk: bytes | None) -> None:
        if self._attached:
            self._chunks.put_nowait(chunk)


async def _replayed_events(
    pipeline: TurnPipeline, ctx: RequestContext, turn: StartedTurn
) -> AsyncIterator[bytes]:
    final = await pipeline.wait_for_reply(ctx, turn.assistant_message)
    if final.content:
        yield _sse("delta", {"text": final.content})
    if final.status == "failed":
        yield _sse(
            "error", {"detail": "the model failed", "assistant_message": message_dict(final)}
        )
    else:
        yield _sse("assistant_message", message_dict(final))


class EventStreamResponse(StreamingResponse):
    """SSE that always closes its event source, even when the client left before the
    first event (the reply must still get a final state)."""

    media_type = "text/event-stream"

    def __init__(
        self, content: AsyncIterator[bytes], *, on_close: Callable[[], Awaitable[None]] | None
    ) -> None:
        super().__init__(content, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self._source = content
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._source.aclose()  # type: ignore[attr-defined]
            if self._on_close is not None:
                await self._on_close()
