"""The gRPC API against a real server: turns, idempotency, order, message updates, history."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import grpc
import orjson
from chat.conversations.v1 import conversations_pb2 as pb

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Api, Rpc, User

MAX_CHARS = 10_000


async def test_start_turn_stores_the_user_message_then_an_empty_in_progress_reply(
    rpc: Rpc, alice: User
) -> None:
    conv = await rpc.conversation(alice)

    turn = await rpc.turn(alice, conv.id, "hello")

    assert not turn.replayed
    assert (turn.user_message.role, turn.user_message.content) == ("user", "hello")
    assert turn.user_message.status == "complete"
    reply = turn.assistant_message
    assert (reply.role, reply.content, reply.status) == ("assistant", "", "in_progress")
    history = await rpc.history(alice, conv.id)
    assert [m.id for m in history] == [turn.user_message.id, reply.id]


async def test_messages_written_in_the_same_instant_keep_a_strict_order(
    rpc: Rpc, alice: User
) -> None:
    conv = await rpc.conversation(alice)
    turns = [await rpc.turn(alice, conv.id, f"q{i}") for i in range(5)]

    history = await rpc.history(alice, conv.id)

    # A turn's two messages share one timestamp: the order comes from the sequence alone.
    assert all(t.user_message.created_at == t.assistant_message.created_at for t in turns)
    expected = [m.id for t in turns for m in (t.user_message, t.assistant_message)]
    assert [m.id for m in history] == expected
    assert [m.id for m in await rpc.history(alice, conv.id)] == expected, "order is stable"


async def test_a_reused_key_with_the_same_content_replays_the_first_turn(
    rpc: Rpc, alice: User
) -> None:
    conv = await rpc.conversation(alice)
    first = await rpc.turn(alice, conv.id, "hello", idempotency_key="k-1")

    again = await rpc.turn(alice, conv.id, "hello", idempotency_key="k-1")

    assert again.replayed
    assert again.user_message.id == first.user_message.id
    assert again.assistant_message.id == first.assistant_message.id
    assert len(await rpc.history(alice, conv.id)) == 2


async def test_concurrent_turns_with_one_key_store_exactly_one_turn(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)

    turns = await asyncio.gather(
        *(rpc.turn(alice, conv.id, "same", idempotency_key="k-concurrent") for _ in range(8))
    )

    assert sum(not t.replayed for t in turns) == 1
    assert len({(t.user_message.id, t.assistant_message.id) for t in turns}) == 1
    assert len(await rpc.history(alice, conv.id)) == 2


async def test_a_reused_key_with_other_content_is_rejected_and_stores_nothing(
    rpc: Rpc, alice: User
) -> None:
    conv = await rpc.conversation(alice)
    await rpc.turn(alice, conv.id, "hello", idempotency_key="k-2")

    code = await rpc.error(
        alice,
        "StartTurn",
        pb.StartTurnRequest(conversation_id=conv.id, content="other", idempotency_key="k-2"),
    )

    assert code == grpc.StatusCode.ALREADY_EXISTS
    assert [m.content for m in await rpc.history(alice, conv.id)] == ["hello", ""]


async def test_a_key_is_scoped_to_its_conversation(rpc: Rpc, alice: User) -> None:
    one, two = await rpc.conversation(alice), await rpc.conversation(alice)
    await rpc.turn(alice, one.id, "hello", idempotency_key="k-3")

    turn = await rpc.turn(alice, two.id, "hello", idempotency_key="k-3")

    assert not turn.replayed


async def test_update_message_stores_a_streamed_reply(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    reply = (await rpc.turn(alice, conv.id, "hi")).assistant_message
    update = pb.UpdateMessageRequest(conversation_id=conv.id, message_id=reply.id)

    update.content = "Hel"
    await rpc(alice, "UpdateMessage", update)
    update.content, update.status = "Hello!", "complete"
    update.usage.input_tokens, update.usage.output_tokens = 7, 2
    final = await rpc(alice, "UpdateMessage", update)

    assert (final.content, final.status) == ("Hello!", "complete")
    assert (final.usage.input_tokens, final.usage.output_tokens) == (7, 2)
    stored = await rpc(
        alice, "GetMessage", pb.GetMessageRequest(conversation_id=conv.id, message_id=reply.id)
    )
    assert stored == final


async def test_update_message_changes_only_the_given_fields(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    calls = '[{"id": "c1"}]'
    message = await rpc.append(
        alice, conv.id, "text", role="assistant", tool_calls_json=calls, status="in_progress"
    )

    updated = await rpc(
        alice,
        "UpdateMessage",
        pb.UpdateMessageRequest(conversation_id=conv.id, message_id=message.id, status="failed"),
    )

    assert (updated.content, updated.status) == ("text", "failed")
    assert orjson.loads(updated.tool_calls_json) == [{"id": "c1"}]


async def test_an_empty_tool_calls_json_clears_them(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    message = await rpc.append(
        alice, conv.id, "", role="assistant", tool_calls_json="[{}]", status="in_progress"
    )
    request = pb.UpdateMessageRequest(
        conversation_id=conv.id, message_id=message.id, tool_calls_json=""
    )

    assert (await rpc(alice, "UpdateMessage", request)).tool_calls_json == ""


async def test_assistant_content_may_exceed_the_user_limit(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    reply = (await rpc.turn(alice, conv.id, "write a lot")).assistant_message
    long_text = "w " * MAX_CHARS

    request = pb.UpdateMessageRequest(
        conversation_id=conv.id, message_id=reply.id, content=long_text
    )

    assert (await rpc(alice, "UpdateMessage", request)).content == long_text


async def test_delete_message_removes_it_from_history(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    keep, drop = await rpc.append(alice, conv.id, "keep"), await rpc.append(alice, conv.id, "drop")

    await rpc(
        alice, "DeleteMessage", pb.DeleteMessageRequest(conversation_id=conv.id, message_id=drop.id)
    )

    assert [m.id for m in await rpc.history(alice, conv.id)] == [keep.id]
    get = pb.GetMessageRequest(conversation_id=conv.id, message_id=drop.id)
    assert await rpc.error(alice, "GetMessage", get) == grpc.StatusCode.NOT_FOUND


async def test_history_is_the_latest_n_or_the_first_n(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    for i in range(6):
        await rpc.append(alice, conv.id, f"m{i}")

    latest = await rpc(
        alice, "ListMessages", pb.ListMessagesRequest(conversation_id=conv.id, limit=4)
    )
    first = await rpc(
        alice,
        "ListMessages",
        pb.ListMessagesRequest(conversation_id=conv.id, limit=4, oldest_first=True),
    )

    assert ([m.content for m in latest.items], latest.has_more) == (["m2", "m3", "m4", "m5"], True)
    assert ([m.content for m in first.items], first.has_more) == (["m0", "m1", "m2", "m3"], True)


async def test_the_agent_may_load_up_to_1000_messages_of_history(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    ok = pb.ListMessagesRequest(conversation_id=conv.id, limit=1000)
    too_many = pb.ListMessagesRequest(conversation_id=conv.id, limit=1001)

    assert list((await rpc(alice, "ListMessages", ok, as_agent=True)).items) == []
    assert await rpc.error(alice, "ListMessages", too_many, as_agent=True) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )


async def test_conversations_roundtrip_with_a_client_id_and_metadata(
    api: Api, rpc: Rpc, alice: User
) -> None:
    wanted = "7b0e4c8e-59a4-4c4e-9a4f-1f3f3c7f0a11"
    created = await rpc.conversation(alice, id=wanted, metadata_json='{"k": 1}')

    update = pb.UpdateConversationRequest(conversation_id=wanted, metadata_json='{"k": 2}')
    updated = await rpc(alice, "UpdateConversation", update)
    listed = await rpc(alice, "ListConversations", pb.ListConversationsRequest(limit=1))

    assert created.id == wanted and not created.HasField("title")
    assert orjson.loads(updated.metadata_json) == {"k": 2}
    assert updated.updated_at == created.updated_at, "metadata is not a rename"
    assert [c.id for c in listed.items] == [wanted] and listed.next_cursor == ""
    assert (await api.conversation(alice, wanted))["id"] == wanted
    await rpc(alice, "DeleteConversation", pb.DeleteConversationRequest(conversation_id=wanted))
    get = pb.GetConversationRequest(conversation_id=wanted)
    assert await rpc.error(alice, "GetConversation", get) == grpc.StatusCode.NOT_FOUND


async def test_a_rename_over_grpc_bumps_updated_at(rpc: Rpc, alice: User) -> None:
    created = await rpc.conversation(alice, title="a")

    request = pb.UpdateConversationRequest(conversation_id=created.id, title="b")
    renamed = await rpc(alice, "UpdateConversation", request)

    assert renamed.title == "b"
    assert renamed.updated_at.ToDatetime() > created.updated_at.ToDatetime()
