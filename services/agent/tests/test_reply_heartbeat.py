"""In process: a reply that is slow to produce text stays alive for the stale-reply
sweeper (heartbeats), and a reply writing text needs none."""

from __future__ import annotations

import uuid

from agent.context import RequestContext
from agent.model import TextDelta
from agent.turn_events import ReplyDone

from services.agent.tests.fake_model import ScriptedModel
from services.agent.tests.fakes import FakeConversations, make_pipeline

HEARTBEAT = 0.05


async def run_reply(
    model: ScriptedModel, *, ended_meanwhile: bool = False
) -> tuple[FakeConversations, str, ReplyDone]:
    conversations, ctx = FakeConversations(), RequestContext(user_id=uuid.uuid4())
    conversation = conversations.conversation(ctx.user_id)
    user = conversations.add(conversation, "user", "think hard")
    reply = conversations.add(conversation, "assistant", "", "in_progress")
    turns = make_pipeline(conversations, model, reply_heartbeat_seconds=HEARTBEAT)
    async with turns.reply(ctx, reply, history=[user]) as events:
        if ended_meanwhile:
            # The sweeper (or a cancel) ends the reply while the model is still thinking.
            conversations.messages[reply.id].status = "interrupted"
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
    model = ScriptedModel([TextDelta("late words")], pause=0.1)

    conversations, reply_id, done = await run_reply(model, ended_meanwhile=True)

    assert done.message.status == "interrupted"
    assert conversations.messages[reply_id].content == ""
