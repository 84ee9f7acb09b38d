"""A final state is final (complete, failed, interrupted: no later write changes status,
content, tool calls or usage), and an empty UpdateMessage is a reply's heartbeat."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import grpc
import pytest
from chat.conversations.v1 import conversations_pb2 as pb
from conversations import store

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Conn, Rpc, User

FINAL = ("complete", "failed", "interrupted")
STALE_SECONDS = 300.0


async def reply_in(rpc: Rpc, user: User, status: str, content: str = "Done.") -> pb.Message:
    return await rpc.update(user, await rpc.reply(user), content=content, status=status)


async def age(conn: Conn, message_id: str) -> None:
    await conn.execute(
        "UPDATE messages SET updated_at = now() - interval '10 minutes' WHERE id = %s",
        (message_id,),
    )


@pytest.mark.parametrize("status", FINAL)
@pytest.mark.parametrize(
    "change",
    [{"status": "in_progress"}, {"status": "complete", "content": "Other"}, {"content": "More"}],
    ids=["reopen", "restatus", "rewrite"],
)
async def test_a_final_reply_refuses_a_change(
    rpc: Rpc, alice: User, status: str, change: dict[str, Any]
) -> None:
    reply = await reply_in(rpc, alice, status)
    request = pb.UpdateMessageRequest(
        conversation_id=reply.conversation_id, message_id=reply.id, **change
    )

    assert await rpc.error(alice, "UpdateMessage", request) == grpc.StatusCode.FAILED_PRECONDITION
    after = await rpc.stored(alice, reply)
    assert (after.status, after.content) == (status, "Done.")


async def test_a_final_reply_refuses_new_usage_and_tool_calls(rpc: Rpc, alice: User) -> None:
    reply = await reply_in(rpc, alice, "complete")
    for fields in ({"usage": pb.Usage(input_tokens=9)}, {"tool_calls_json": "[{}]"}):
        request = pb.UpdateMessageRequest(
            conversation_id=reply.conversation_id, message_id=reply.id, **fields
        )
        assert (
            await rpc.error(alice, "UpdateMessage", request) == grpc.StatusCode.FAILED_PRECONDITION
        )


async def test_an_interrupted_reply_takes_its_late_usage_once(rpc: Rpc, alice: User) -> None:
    """Cancelled before its agent's final write: the usage alone is still taken, once."""
    reply = await reply_in(rpc, alice, "interrupted", content="Half")
    late = pb.Usage(input_tokens=12, output_tokens=7, model="gpt-test")

    after = await rpc.update(alice, reply, usage=late)
    again = await rpc.update(alice, reply, usage=late)  # a retried write: the same values

    tokens = (late.input_tokens, late.output_tokens)
    assert (after.status, after.content) == ("interrupted", "Half")
    assert (after.usage.input_tokens, after.usage.output_tokens) == tokens
    assert (again.usage.input_tokens, again.usage.output_tokens) == tokens
    other = pb.UpdateMessageRequest(
        conversation_id=reply.conversation_id, message_id=reply.id, usage=pb.Usage(input_tokens=1)
    )
    assert await rpc.error(alice, "UpdateMessage", other) == grpc.StatusCode.FAILED_PRECONDITION
    with_text = pb.UpdateMessageRequest(
        conversation_id=reply.conversation_id, message_id=reply.id, content="Half and more"
    )
    with_text.usage.CopyFrom(late)
    assert await rpc.error(alice, "UpdateMessage", with_text) == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_retried_final_write_is_accepted(rpc: Rpc, alice: User) -> None:
    reply = await reply_in(rpc, alice, "complete")

    again = await rpc.update(alice, reply, content="Done.", status="complete")

    assert (again.status, again.content) == ("complete", "Done.")


async def test_a_final_reply_still_takes_a_payload(rpc: Rpc, alice: User) -> None:
    reply = await reply_in(rpc, alice, "complete")

    after = await rpc.update(alice, reply, payload_json='{"item": {"id": "x"}}')

    assert (after.status, after.content) == ("complete", "Done.")
    assert '"item"' in after.payload_json


async def test_a_swept_reply_refuses_its_late_final_write(
    rpc: Rpc, alice: User, conn: Conn
) -> None:
    reply = await rpc.reply(alice, "Half")
    await age(conn, reply.id)
    await store.interrupt_stale_replies(conn, stale_seconds=STALE_SECONDS)

    request = pb.UpdateMessageRequest(
        conversation_id=reply.conversation_id,
        message_id=reply.id,
        content="Half and more",
        status="complete",
    )

    assert await rpc.error(alice, "UpdateMessage", request) == grpc.StatusCode.FAILED_PRECONDITION
    after = await rpc.stored(alice, reply)
    assert (after.status, after.content) == ("interrupted", "Half")


async def test_a_heartbeat_keeps_a_silent_reply_from_the_sweeper(
    rpc: Rpc, alice: User, conn: Conn
) -> None:
    conv = await rpc.conversation(alice)
    beating = (await rpc.turn(alice, conv.id, "think hard")).assistant_message
    silent = (await rpc.turn(alice, conv.id, "think too")).assistant_message
    await age(conn, beating.id)
    await age(conn, silent.id)

    beat = await rpc.update(alice, beating)  # no field set: a heartbeat
    await store.interrupt_stale_replies(conn, stale_seconds=STALE_SECONDS)

    assert (beat.status, beat.content) == ("in_progress", "")
    assert (await rpc.stored(alice, beating)).status == "in_progress"
    assert (await rpc.stored(alice, silent)).status == "interrupted"


async def test_a_heartbeat_on_a_final_reply_is_refused(rpc: Rpc, alice: User) -> None:
    reply = await reply_in(rpc, alice, "interrupted")
    request = pb.UpdateMessageRequest(conversation_id=reply.conversation_id, message_id=reply.id)

    assert await rpc.error(alice, "UpdateMessage", request) == grpc.StatusCode.FAILED_PRECONDITION


async def test_the_sweeper_never_touches_a_final_message(rpc: Rpc, alice: User, conn: Conn) -> None:
    replies = [await reply_in(rpc, alice, status) for status in FINAL]
    for reply in replies:
        await age(conn, reply.id)

    await store.interrupt_stale_replies(conn, stale_seconds=STALE_SECONDS)

    cursor = await conn.execute(
        "SELECT status, now() - updated_at > interval '5 minutes' FROM messages"
        " WHERE id = ANY(%s) ORDER BY array_position(%s, id::text)",
        ([r.id for r in replies], [r.id for r in replies]),
    )
    assert await cursor.fetchall() == [(status, True) for status in FINAL]
