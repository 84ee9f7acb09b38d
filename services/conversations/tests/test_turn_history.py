"""StartTurn's `history`: the messages the new reply answers, in the turn's own round trip."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import grpc
from chat.conversations.v1 import conversations_pb2 as pb

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Rpc, User


def _contents(messages: list[pb.Message] | pb.StartTurnResponse) -> list[str]:
    items = messages.history if isinstance(messages, pb.StartTurnResponse) else messages
    return [m.content for m in items]


async def test_a_turn_returns_the_latest_messages_up_to_its_user_message_oldest_first(
    rpc: Rpc, alice: User
) -> None:
    conv = await rpc.conversation(alice)
    for i in range(5):
        await rpc.append(alice, conv.id, f"m{i}")

    turn = await rpc.turn(alice, conv.id, "new", history_limit=4)

    assert _contents(turn) == ["m2", "m3", "m4", "new"]
    assert turn.history[-1] == turn.user_message
    assert turn.assistant_message.id not in {m.id for m in turn.history}


async def test_the_history_is_what_list_messages_returns_before_the_reply(
    rpc: Rpc, alice: User
) -> None:
    conv = await rpc.conversation(alice)
    await rpc.turn(alice, conv.id, "first")  # its reply is still in progress: it counts

    turn = await rpc.turn(alice, conv.id, "second", history_limit=50)

    listed = await rpc.history(alice, conv.id, before=turn.assistant_message.id, limit=50)
    assert list(turn.history) == listed
    assert [(m.role, m.status) for m in turn.history] == [
        ("user", "complete"),
        ("assistant", "in_progress"),
        ("user", "complete"),
    ]


async def test_concurrent_turns_each_see_every_turn_stored_before_them(
    rpc: Rpc, alice: User
) -> None:
    conv = await rpc.conversation(alice)

    turns = await asyncio.gather(
        *(rpc.turn(alice, conv.id, f"q{i}", history_limit=100) for i in range(6))
    )

    for turn in turns:
        listed = await rpc.history(alice, conv.id, before=turn.assistant_message.id, limit=100)
        assert [m.id for m in turn.history] == [m.id for m in listed]


async def test_without_a_limit_no_history_is_returned(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    await rpc.append(alice, conv.id, "earlier")

    assert list((await rpc.turn(alice, conv.id, "now")).history) == []
    assert list((await rpc.turn(alice, conv.id, "again", history_limit=0)).history) == []


async def test_a_limit_out_of_range_is_rejected_and_stores_nothing(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)

    for limit in (-1, 1001):
        request = pb.StartTurnRequest(conversation_id=conv.id, content="x", history_limit=limit)
        assert await rpc.error(alice, "StartTurn", request) == grpc.StatusCode.INVALID_ARGUMENT
    assert await rpc.history(alice, conv.id) == []


async def test_the_history_holds_only_this_conversations_messages(
    rpc: Rpc, alice: User, bob: User
) -> None:
    mine, other = await rpc.conversation(alice), await rpc.conversation(alice)
    bobs = await rpc.conversation(bob)
    await rpc.append(alice, other.id, "elsewhere")
    await rpc.append(bob, bobs.id, "bob's")
    await rpc.append(alice, mine.id, "here")

    turn = await rpc.turn(alice, mine.id, "now", history_limit=10)

    assert _contents(turn) == ["here", "now"]


async def test_another_users_conversation_is_not_found_and_nothing_is_stored(
    rpc: Rpc, alice: User, bob: User
) -> None:
    conv = await rpc.conversation(alice)
    await rpc.append(alice, conv.id, "private")

    request = pb.StartTurnRequest(conversation_id=conv.id, content="peek", history_limit=10)

    assert await rpc.error(bob, "StartTurn", request) == grpc.StatusCode.NOT_FOUND
    assert _contents(await rpc.history(alice, conv.id)) == ["private"]


async def test_a_replayed_turn_returns_the_history_its_first_reply_answers(
    rpc: Rpc, alice: User
) -> None:
    conv = await rpc.conversation(alice)
    await rpc.append(alice, conv.id, "before")
    first = await rpc.turn(alice, conv.id, "hello", idempotency_key="k-h", history_limit=10)
    await rpc.turn(alice, conv.id, "later")

    again = await rpc.turn(alice, conv.id, "hello", idempotency_key="k-h", history_limit=10)

    assert again.replayed
    assert _contents(again) == ["before", "hello"]
    assert list(again.history) == list(first.history)
