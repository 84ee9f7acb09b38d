"""THE turn pipeline, shared by the REST send route and ChatKit.

    turn = await pipeline.start_turn(ctx, conversation_id, content)  # user message stored
    async with pipeline.reply(ctx, turn.assistant_message, history=turn.history) as events:
        async for event in events:  # ReplyDelta ... ReplyDone
            ...

`start_turn` stores the user message and an empty `in_progress` assistant
reply in one gRPC call (StartTurn), before the model is called; the same call
returns the latest HISTORY_LIMIT messages the reply answers. `reply` sends that
history to the model (later tool rounds, and replies started without it, load
it with ListMessages), streams the model, keeps the stored reply current
(content flushed in batches, off the hot path), and ends it `complete` (with
usage) or `failed` (model error/timeout, partial text kept). If the consumer
stops early, is cancelled, or never starts iterating, closing the stream stores
the reply `interrupted` with its partial text; that last write is shielded from
cancellation. Nothing is kept between requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

import orjson
from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import Conflict

from agent.attachment_parts import PartCache, attachment_parts
from agent.background import shielded, spawn
from agent.context import RequestContext
from agent.conversations_client import ConversationsClient
from agent.history import model_messages
from agent.metrics import Protocol, TurnMetrics
from agent.model import (
    Finish,
    ModelClient,
    ModelError,
    ModelEvent,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    Usage,
)
from agent.reply_writer import ReplyWriter
from agent.settings import Settings
from agent.tools import ToolRegistry
from agent.tools.progress import ToolRun
from agent.turn_events import (
    ReplyDelta,
    ReplyDone,
    ReplyEvent,
    ReplyReasoning,
    ReplyStarted,
    ReplyToolCalls,
    ReplyToolProgress,
    ReplyToolResult,
    StartedTurn,
    TurnOptions,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


class TurnPipeline:
    def __init__(
        self,
        *,
        conversations: ConversationsClient,
        model: ModelClient,
        settings: Settings,
        tools: ToolRegistry | None = None,
    ) -> None:
        self.conversations = conversations
        self.model = model
        self.tools = tools
        self.system_prompt = settings.system_prompt
        self.history_limit = settings.history_limit
        self.history_max_chars = settings.history_max_chars
        self.flush_seconds = settings.content_flush_seconds
        self.heartbeat_seconds = settings.reply_heartbeat_seconds
        self.max_tool_rounds = settings.max_tool_rounds if tools else 0
        self.replay_wait_seconds = settings.replay_wait_seconds
        self.metrics_enabled = settings.metrics_enabled
        self.model_name = settings.openai_model  # a bounded label: the one configured
        self.file_parts = PartCache()  # what the model got of files, for the next turns

    async def start_turn(
        self,
        ctx: RequestContext,
        conversation_id: str,
        content: str,
        *,
        idempotency_key: str | None = None,
        payload_json: str = "",
    ) -> StartedTurn:
        """Stores the user message and an empty reply (NotFound for a foreign conversation),
        and reads the history the reply answers in the same call."""
        request = pb.StartTurnRequest(
            conversation_id=conversation_id,
            content=content,
            idempotency_key=idempotency_key,
            payload_json=payload_json,
            history_limit=self.history_limit,
        )
        response = await self.conversations.start_turn(ctx.user_id, request)
        return StartedTurn(
            response.user_message,
            response.assistant_message,
            response.replayed,
            list(response.history) or None,  # never empty when sent: it ends with user_message
        )

    async def start_reply(
        self, ctx: RequestContext, conversation_id: str, *, payload_json: str = ""
    ) -> pb.Message:
        """A new empty `in_progress` assistant message (a retry, or the step after tool calls)."""
        request = pb.AppendMessageRequest(
            conversation_id=conversation_id,
            role="assistant",
            content="",
            status="in_progress",
            payload_json=payload_json,
        )
        return await self.conversations.append_message(ctx.user_id, request)

    def reply(
        self,
        ctx: RequestContext,
        assistant: pb.Message,
        *,
        history: Sequence[pb.Message] | None = None,
        protocol: Protocol = "rest",
        options: TurnOptions | None = None,
    ) -> ReplyStream:
        """The model's reply into the stored `assistant` message, as events. `history`:
        the stored messages before `assistant` if already loaded (StartTurn's);
        `protocol`: the door the turn came through, for metrics."""
        return ReplyStream(self, ctx, assistant, history, protocol, options or TurnOptions())

    def writer(self, ctx: RequestContext, message: pb.Message) -> ReplyWriter:
        return ReplyWriter(self.conversations, ctx.user_id, message, self.flush_seconds)

    async def history(
        self,
        ctx: RequestContext,
        before: pb.Message,
        loaded: Sequence[pb.Message] | None = None,
        hints: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """The latest HISTORY_LIMIT messages before `before` (`loaded` if given: read from
        the store in this turn already), shaped for the model."""
        if loaded is None:
            page = await self.conversations.list_messages(
                ctx.user_id, before.conversation_id, limit=self.history_limit, before=before.id
            )
            loaded = page.items
        system = "\n\n".join(p for p in (self.system_prompt, *hints) if p)
        files = await attachment_parts(self.conversations, ctx.user_id, loaded, self.file_parts)
        return model_messages(system, loaded, max_chars=self.history_max_chars, attachments=files)

    async def wait_for_reply(self, ctx: RequestContext, assistant: pb.Message) -> pb.Message:
        """The final state of a reply another request is producing (idempotent replays).

        Polls the stored message (any replica may be running it), following
        tool rounds to the assistant message that continues them.
        """
        deadline = time.monotonic() + self.replay_wait_seconds
        delay, message = 0.05, assistant
        while True:
            if message.status != "in_progress":
                follow = message.tool_calls_json and message.status == "complete"
                nxt = await self._continuation(ctx, message) if follow else message
                if nxt is message:
                    return message
                if nxt is not None:
                    message = nxt
                    continue
            if time.monotonic() > deadline:
                raise Conflict(
                    "the first request with this Idempotency-Key is still running",
                    headers={"Retry-After": "5"},
                )
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.5)
            message = await self.conversations.get_message(
                ctx.user_id, message.conversation_id, message.id
            )

    async def _continuation(self, ctx: RequestContext, message: pb.Message) -> pb.Message | None:
        """The assistant message after `message`'s tool results: itself if none will come,
        None if it is not stored yet."""
        page = await self.conversations.list_messages(
            ctx.user_id, message.conversation_id, limit=20, after=message.id
        )
        for item in page.items:
            if item.role == "tool":
                continue
            return item if item.role == "assistant" else message
        return None


class ReplyStream:
    """Async iterator of ReplyEvents; `aclose()` (or `async with`) guarantees a final state."""

    def __init__(
        self,
        pipeline: TurnPipeline,
        ctx: RequestContext,
        assistant: pb.Message,
        history: Sequence[pb.Message] | None,
        protocol: Protocol = "rest",
        options: TurnOptions | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._options = options or TurnOptions()
        model = self._options.model or pipeline.model_name  # allow-listed: a bounded label
        self._metrics = TurnMetrics(
            protocol=protocol, model=model, enabled=pipeline.metrics_enabled
        )
        self._ctx = ctx
        self._writer = ReplyWriter(
            pipeline.conversations, ctx.user_id, assistant, pipeline.flush_seconds
        )
        self._history = history  # for the first model call only
        self._events = self._run()

    def __aiter__(self) -> AsyncIterator[ReplyEvent]:
        return self._events

    @property
    def message(self) -> pb.Message:
        """The assistant message being written (as last stored)."""
        return self._writer.message

    async def __aenter__(self) -> ReplyStream:
        return self

    async def __aexit__(
        self, *_: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        try:
            await self._events.aclose()
            # A stream closed before it started ran none of its own cleanup.
            if not self._writer.finished:
                await self._writer.finish("interrupted")
        finally:
            self._metrics.finished(self._writer.message.status)

    async def _run(self) -> AsyncGenerator[ReplyEvent, None]:
        heartbeat = spawn(self._heartbeat())
        self._metrics.stream_opened()
        try:
            async for event in self._rounds():
                yield event
        finally:
            heartbeat.cancel()

    async def _heartbeat(self) -> None:
        """Keeps the reply alive for the stale-reply sweeper while no text arrives (a slow
        first token, a long tool call): an empty UpdateMessage when nothing was written
        for a heartbeat interval."""
        interval = self._pipeline.heartbeat_seconds
        while True:
            writer = self._writer
            idle = time.monotonic() - writer.last_write
            if idle < interval:  # due an interval after the last write, not after the last check
                await asyncio.sleep(interval - idle)
            elif writer.finished or writer.ended:
                await asyncio.sleep(interval)
            else:
                await writer.heartbeat()  # moves last_write, failed or not

    async def _rounds(self) -> AsyncGenerator[ReplyEvent, None]:
        pipeline, ctx = self._pipeline, self._ctx
        try:
            rounds = 0
            while True:
                writer = self._writer
                calls: list[ToolCall] = []
                try:
                    offer = pipeline.tools is not None and rounds < pipeline.max_tool_rounds
                    loaded, self._history = self._history, None
                    options = self._options
                    messages = await pipeline.history(ctx, writer.message, loaded, options.hints)
                    tools = pipeline.tools.specs() if offer and pipeline.tools else ()
                    forced = options.tool_choice if tools and rounds == 0 else None
                    stream = pipeline.model.stream(
                        messages, tools=tools, model=options.model, tool_choice=forced
                    )
                    async with contextlib.aclosing(stream) as events:
                        async for event in writer.until_ended(events):
                            if shown := self._take(event, calls):
                                yield shown
                except ModelError as exc:
                    self._metrics.model_error(exc)
                    log.warning("reply %s failed: %s", writer.message.id, exc.detail)
                    yield ReplyDone(await writer.finish("failed"), exc)
                    return
                if calls and not offer:
                    log.warning("reply %s: tool calls without tools offered", writer.message.id)
                    calls = []
                # Ended elsewhere (cancelled, lease lapsed): finish keeps that stored state.
                if not calls or writer.ended:
                    yield ReplyDone(await writer.finish("complete"))
                    return
                yield ReplyToolCalls(await writer.finish("complete", tool_calls=calls))
                async for step in self._run_tools(calls):
                    yield step
                rounds += 1
        except (asyncio.CancelledError, GeneratorExit):
            # The client went away or the consumer stopped: keep what was generated.
            if not self._writer.finished:
                await self._writer.finish("interrupted")
            raise
        except Exception:
            # Not the model (e.g. the store failed to load history): still a final state.
            if not self._writer.finished:
                with contextlib.suppress(Exception):
                    await self._writer.finish("failed")
            raise

    def _take(self, event: ModelEvent, calls: list[ToolCall]) -> ReplyEvent | None:
        """Record `event`; what the client sees of it, if anything."""
        if isinstance(event, TextDelta):
            self._writer.add(event.text)
            if self._metrics.waiting_first_token:
                self._metrics.first_token()
            return ReplyDelta(event.text)
        if isinstance(event, ReasoningDelta):
            return ReplyReasoning(event.text) if self._options.reasoning else None
        elif isinstance(event, ToolCall):
            calls.append(event)
        elif isinstance(event, Usage):
            self._writer.usage = event
            self._metrics.usage(event)
        elif isinstance(event, Finish) and event.reason == "length":
            log.info("reply %s cut at the output token limit", self._writer.message.id)
        return None

    async def _run_tools(self, calls: list[ToolCall]) -> AsyncIterator[ReplyEvent]:
        pipeline, ctx, message = self._pipeline, self._ctx, self._writer.message
        assert pipeline.tools is not None
        for call in calls:
            run = ToolRun(pipeline.tools, call.name, call.arguments)
            async for text in run.progress():
                yield ReplyToolProgress(text)
            result = run.result
            request = pb.AppendMessageRequest(
                conversation_id=message.conversation_id,
                role="tool",
                content=result,
                status="complete",
                tool_calls_json=orjson.dumps([call.as_chat()]).decode(),
            )
            yield ReplyToolResult(await pipeline.conversations.append_message(ctx.user_id, request))
        # Shielded: once stored, the new reply must be known here to get its final state.
        nxt = await shielded(pipeline.start_reply(ctx, message.conversation_id))
        self._writer = pipeline.writer(ctx, nxt)
        yield ReplyStarted(nxt)
