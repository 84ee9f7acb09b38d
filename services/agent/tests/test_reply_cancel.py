"""In process: a reply ended elsewhere (cancelled by its user, or swept when its lease
lapsed) is noticed at the writer's next write, which stops the model stream at once and
writes nothing more."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from agent.context import RequestContext
from agent.model import ModelEvent, TextDelta
from agent.turn_events import ReplyDelta, ReplyDone

from services.agent.tests.fake_model import ScriptedModel, Stall
from services.agent.tests.fakes import FakeConversations, make_pipeline

HEARTBEAT = 0.05


class ClosedModel(ScriptedModel):
    """Remembers whether the consumer closed its stream before the script ran out."""

    closed_early = False

    async def stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ModelEvent]:
        finished = False
        try:
            async for event in super().stream(*args, **kwargs):
                yield event
            finished = True
        finally:
            self.closed_early = not finished


async def cancelled_reply(
    model: ScriptedModel, *, after_deltas: int
) -> tuple[FakeConversations, str, list[object], float]:
    """Runs a reply and ends it elsewhere after `after_deltas` deltas; returns the events
    seen and the seconds from the cancel to the reply's end."""
    conversations, ctx = FakeConversations(), RequestContext(user_id=uuid.uuid4())
    conversation = conversations.conversation(ctx.user_id)
    user = conversations.add(conversation, "user", "write a lot")
    reply = conversations.add(conversation, "assistant", "", "in_progress")
    turns = make_pipeline(conversations, model, reply_heartbeat_seconds=HEARTBEAT)
    seen: list[object] = []
    cancelled_at = 0.0
    async with asyncio.timeout(5), turns.reply(ctx, reply, history=[user]) as events:
        async for event in events:
            seen.append(event)
            if sum(isinstance(e, ReplyDelta) for e in seen) == after_deltas and not cancelled_at:
                conversations.messages[reply.id].status = "interrupted"  # what a cancel does
                cancelled_at = time.monotonic()
    return conversations, reply.id, seen, time.monotonic() - cancelled_at


async def test_a_model_silent_after_a_cancel_is_stopped_at_the_next_heartbeat() -> None:
    model = ClosedModel([TextDelta("Once upon"), Stall(), TextDelta(" a time")])

    conversations, reply_id, seen, took = await cancelled_reply(model, after_deltas=1)

    done = seen[-1]
    assert isinstance(done, ReplyDone)
    assert done.message.status == "interrupted"
    assert model.closed_early
    assert took < HEARTBEAT * 10, f"the stalled model ran {took:.2f} s after the cancel"
    assert conversations.messages[reply_id].status == "interrupted"


async def test_a_model_streaming_after_a_cancel_stops_at_the_next_content_write() -> None:
    words = [TextDelta(f"w{i} ") for i in range(200)]
    model = ClosedModel(words, pause=0.005)

    conversations, reply_id, seen, _ = await cancelled_reply(model, after_deltas=3)

    deltas = [e for e in seen if isinstance(e, ReplyDelta)]
    done = seen[-1]
    assert isinstance(done, ReplyDone) and done.message.status == "interrupted"
    assert model.closed_early and len(deltas) < 10
    # After the refused write nothing more is written: no final write either.
    assert not any(u.HasField("status") for u in conversations.updates)
    assert conversations.messages[reply_id].status == "interrupted"


class TimedConversations(FakeConversations):
    """Remembers when each write of a reply arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.write_times: list[float] = []

    async def update_message(self, user_id: uuid.UUID, request: Any) -> Any:
        self.write_times.append(time.monotonic())
        return await super().update_message(user_id, request)


async def test_the_lease_is_renewed_an_interval_after_the_last_write_not_later() -> None:
    interval = 0.2
    conversations, ctx = TimedConversations(), RequestContext(user_id=uuid.uuid4())
    conversation = conversations.conversation(ctx.user_id)
    user = conversations.add(conversation, "user", "think")
    reply = conversations.add(conversation, "assistant", "", "in_progress")
    # Text after half an interval, then silence: the first heartbeat is due an interval
    # after that write (a timer ticking from the start would wait half an interval more).
    model = ScriptedModel([TextDelta("Hmm"), Stall()], pause=interval / 2)
    turns = make_pipeline(conversations, model, reply_heartbeat_seconds=interval)
    async with turns.reply(ctx, reply, history=[user]) as events:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(interval * 6):
                async for _ in events:
                    pass

    gaps = [b - a for a, b in itertools.pairwise(conversations.write_times)]
    assert len(gaps) >= 4, gaps
    assert max(gaps) < interval * 1.35, gaps
