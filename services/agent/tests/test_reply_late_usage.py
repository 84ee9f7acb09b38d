"""In process: a reply cancelled while the model runs is final before the agent's final
write, which is then refused; the tokens the model reported are still sent, alone (a
usage-only UpdateMessage, which conversations takes once), so the usage ledger counts
them. Status and text stay as the cancel stored them."""

from __future__ import annotations

import asyncio
import uuid

from agent.context import RequestContext
from agent.model import Finish, TextDelta, Usage
from agent.turn_events import ReplyDelta, ReplyDone
from chat.conversations.v1 import conversations_pb2 as pb

from services.agent.tests.fake_model import ScriptedModel, Step
from services.agent.tests.fakes import FakeConversations, make_pipeline

SLOW = 60.0  # no flush or heartbeat during the turn: the cancel is learnt at the final write


async def cancelled_after_first_delta(script: list[Step]) -> tuple[FakeConversations, str, object]:
    """Runs a reply, cancels it after its first delta; the stored reply id, the last event."""
    conversations, ctx = FakeConversations(), RequestContext(user_id=uuid.uuid4())
    conversation = conversations.conversation(ctx.user_id)
    user = conversations.add(conversation, "user", "hello")
    reply = conversations.add(conversation, "assistant", "", "in_progress")
    turns = make_pipeline(
        conversations,
        ScriptedModel(script),
        content_flush_seconds=SLOW,
        reply_heartbeat_seconds=SLOW,
    )
    seen: list[object] = []
    async with asyncio.timeout(5), turns.reply(ctx, reply, history=[user]) as events:
        async for event in events:
            if isinstance(event, ReplyDelta) and not seen:
                conversations.messages[reply.id].status = "interrupted"  # what a cancel does
            seen.append(event)
    return conversations, reply.id, seen[-1]


def written_fields(request: pb.UpdateMessageRequest) -> set[str]:
    return {f.name for f, _ in request.ListFields()} - {"conversation_id", "message_id"}


async def test_a_cancelled_replys_usage_is_sent_after_its_refused_final_write() -> None:
    script: list[Step] = [TextDelta("Hello"), TextDelta(" world"), Usage(11, 4), Finish("stop")]

    conversations, reply_id, done = await cancelled_after_first_delta(script)

    final_write, late = conversations.updates[-2:]
    assert written_fields(final_write) == {"content", "status", "usage"}  # refused
    assert written_fields(late) == {"usage"}
    assert (late.message_id, late.usage.input_tokens, late.usage.output_tokens) == (
        reply_id,
        11,
        4,
    )
    assert isinstance(done, ReplyDone) and done.message.status == "interrupted"


async def test_without_usage_nothing_more_is_sent() -> None:
    script: list[Step] = [TextDelta("Hello"), TextDelta(" world"), Finish("stop")]

    conversations, _, done = await cancelled_after_first_delta(script)

    assert written_fields(conversations.updates[-1]) == {"content", "status"}
    assert isinstance(done, ReplyDone) and done.message.status == "interrupted"
