"""SetFeedback: ChatKit feedback on a bounded set of messages, in one statement, scoped
to the caller's conversation, all or nothing."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import grpc
import orjson
from chat.conversations.v1 import conversations_pb2 as pb

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Rpc, User


async def set_feedback(
    rpc: Rpc, user: User, conversation_id: str, ids: list[str], feedback: str
) -> pb.SetFeedbackResponse:
    request = pb.SetFeedbackRequest(
        conversation_id=conversation_id, message_ids=ids, feedback=feedback
    )
    result: pb.SetFeedbackResponse = await rpc(user, "SetFeedback", request)
    return result


async def payloads(rpc: Rpc, user: User, conversation_id: str) -> list[dict[str, object]]:
    return [orjson.loads(m.payload_json or "{}") for m in await rpc.history(user, conversation_id)]


async def test_feedback_lands_in_the_payload_keys_chatkit_reads(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    item = '{"item": {"id": "kept", "type": "assistant_message"}}'
    reply = await rpc.append(alice, conv.id, "answer", role="assistant", payload_json=item)
    plain = await rpc.append(alice, conv.id, "another", role="assistant")

    result = await set_feedback(rpc, alice, conv.id, [reply.id, plain.id, reply.id], "positive")

    assert result.updated == 2  # duplicates count once
    first, second = await payloads(rpc, alice, conv.id)
    assert first["item"] == {"id": "kept", "type": "assistant_message"}
    assert (first["feedback"], second["feedback"]) == ("positive", "positive")
    assert isinstance(first["feedback_at"], str) and first["feedback_at"].endswith("+00:00")


async def test_empty_feedback_clears_it(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    reply = await rpc.append(alice, conv.id, "answer", role="assistant", payload_json='{"a": 1}')
    await set_feedback(rpc, alice, conv.id, [reply.id], "negative")

    await set_feedback(rpc, alice, conv.id, [reply.id], "")

    assert await payloads(rpc, alice, conv.id) == [{"a": 1}]


async def test_more_than_50_distinct_ids_are_refused(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    reply = await rpc.append(alice, conv.id, "answer", role="assistant")
    ids = [reply.id] + [str(uuid.uuid4()) for _ in range(50)]
    request = pb.SetFeedbackRequest(conversation_id=conv.id, message_ids=ids, feedback="positive")

    assert await rpc.error(alice, "SetFeedback", request) == grpc.StatusCode.INVALID_ARGUMENT
    assert await payloads(rpc, alice, conv.id) == [{}]


async def test_a_huge_duplicated_list_is_refused_before_any_work(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    request = pb.SetFeedbackRequest(
        conversation_id=conv.id, message_ids=[str(uuid.uuid4())] * 26_000, feedback="positive"
    )

    assert await rpc.error(alice, "SetFeedback", request) == grpc.StatusCode.INVALID_ARGUMENT


async def test_an_unknown_kind_or_no_ids_is_refused(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    reply = await rpc.append(alice, conv.id, "answer", role="assistant")
    for ids, kind in (([reply.id], "meh"), ([], "positive"), (["nope"], "positive")):
        request = pb.SetFeedbackRequest(conversation_id=conv.id, message_ids=ids, feedback=kind)
        assert await rpc.error(alice, "SetFeedback", request) == grpc.StatusCode.INVALID_ARGUMENT


async def test_another_users_message_is_not_found_and_nothing_changes(
    rpc: Rpc, alice: User, bob: User
) -> None:
    mine = await rpc.conversation(alice)
    my_reply = await rpc.append(alice, mine.id, "mine", role="assistant")
    theirs = await rpc.conversation(bob)
    their_reply = await rpc.append(bob, theirs.id, "theirs", role="assistant")
    request = pb.SetFeedbackRequest(
        conversation_id=mine.id, message_ids=[my_reply.id, their_reply.id], feedback="negative"
    )

    assert await rpc.error(alice, "SetFeedback", request) == grpc.StatusCode.NOT_FOUND
    assert await payloads(rpc, alice, mine.id) == [{}]
    assert await payloads(rpc, bob, theirs.id) == [{}]


async def test_another_users_conversation_is_not_found(rpc: Rpc, alice: User, bob: User) -> None:
    theirs = await rpc.conversation(bob)
    their_reply = await rpc.append(bob, theirs.id, "theirs", role="assistant")
    request = pb.SetFeedbackRequest(
        conversation_id=theirs.id, message_ids=[their_reply.id], feedback="negative"
    )

    assert await rpc.error(alice, "SetFeedback", request) == grpc.StatusCode.NOT_FOUND
    assert await payloads(rpc, bob, theirs.id) == [{}]
