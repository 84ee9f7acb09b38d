"""In process: a reply that is slow to produce text stays alive for the stale-reply
sweeper (heartbeats), and a reply writing text needs none."""

from __future__ import annotations

import uuid
from typing import Any, cast

from agent.context import RequestContext
from agent.model import TextDelta
from agent.settings import Settings
from agent.turns import ReplyDone, TurnPipeline

from services.agent.tests.fakes import FakeConversations, ScriptedModel

HEARTBEAT = 0.05


def pipeline(conversations: FakeConversations, model: ScriptedModel) -> TurnPipeline:
    settings = Settings(
        agent_client_secret="s" * 32,
        reply_heartbeat_seconds=HEARTBEAT,
        content_flush_seconds=0.0,
        system_prompt="",
    )
    return TurnPipeline(
        conversations=cast(Any, conversations), model=cast(Any, model), settings=settings
    )


async def run_reply(model: ScriptedModel) -> tuple[FakeConversations, str, ReplyDone]:
    conversations = FakeConversations()
    user = conversations.add("c1", "user", "think hard", "complete")
    reply = conversations.add("c1", "assistant", "", "in_progress")
    turns = pipeline(conversations, model)
    ctx = RequestContext(user_id=uuid.uuid4())
    async with turns.reply(ctx, reply, history=[user]) as events:
        done = [e async for e in events if isinstance(e, ReplyDone)]
    return conversations, reply.id, done[-1]


async def test_a_reply_slow_to_its_first_word_keeps_sending_heartbeats() -> None:
    model = ScriptedModel([TextDelta("finally")], pause=HEARTBEAT * 8)

    conversations, reply_id, done = await run_reply(model)

    assert done.message.status == "complete" and done.message.content == "finally"
    assert conversations.heartbeats(reply_id) >= 4


async def test_a_reply_writing_text_sends_no_heartbeat() -> None:
    model = ScriptedModel([TextDelta("a "), TextDelta("b")])

    conversations, reply_id, done = await run_reply(model)

    assert done.message.content == "a b"
    assert conversations.heartbeats(reply_id) == 0


async def test_a_reply_that_was_ended_meanwhile_keeps_its_stored_final_state() -> None:
    conversations = FakeConversations()
    user = conversations.add("c1", "user", "hello", "complete")
    reply = conversations.add("c1", "assistant", "", "in_progress")
    turns = pipeline(conversations, ScriptedModel([TextDelta("late words")], pause=0.1))
    ctx = RequestContext(user_id=uuid.uuid4())

    async with turns.reply(ctx, reply, history=[user]) as events:
        # The sweeper (or a cancel) ends the reply while the model is still thinking.
        conversations.messages[reply.id].status = "interrupted"
        done = [e async for e in events if isinstance(e, ReplyDone)]

    assert done[-1].message.status == "interrupted"
    assert conversations.messages[reply.id].content == ""
