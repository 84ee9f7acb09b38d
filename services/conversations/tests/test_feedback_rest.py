"""Feedback is data on REST: a Message's `feedback` and a conversation's vote counts
(`GET …/{id}/feedback`), from what ChatKit's items.feedback stored (SetFeedback)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chat.conversations.v1 import conversations_pb2 as pb

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Api, Rpc, User


async def vote(rpc: Rpc, user: User, conversation_id: str, ids: list[str], kind: str) -> None:
    request = pb.SetFeedbackRequest(conversation_id=conversation_id, message_ids=ids, feedback=kind)
    await rpc(user, "SetFeedback", request)


async def test_a_message_shows_its_feedback_and_the_conversation_counts_them(
    rpc: Rpc, api: Api, alice: User
) -> None:
    conv = await rpc.conversation(alice)
    question = await rpc.append(alice, conv.id, "question")
    item = '{"item": {"id": "x", "type": "assistant_message"}}'
    good = await rpc.append(alice, conv.id, "good", role="assistant", payload_json=item)
    bad = await rpc.append(alice, conv.id, "bad", role="assistant")
    unvoted = await rpc.append(alice, conv.id, "meh", role="assistant")
    await vote(rpc, alice, conv.id, [good.id], "positive")
    await vote(rpc, alice, conv.id, [bad.id], "negative")

    listed = (await api.messages(alice, conv.id))["items"]

    assert [(m["id"], m["feedback"]) for m in listed] == [
        (question.id, None),
        (good.id, "positive"),
        (bad.id, "negative"),
        (unvoted.id, None),
    ]
    counts = await api.get(alice, f"/api/chat/conversations/{conv.id}/feedback")
    assert counts.status_code == 200 and counts.json() == {"positive": 1, "negative": 1}


async def test_cleared_feedback_is_gone_and_others_counts_are_not_found(
    rpc: Rpc, api: Api, alice: User, bob: User
) -> None:
    conv = await rpc.conversation(alice)
    reply = await rpc.append(alice, conv.id, "answer", role="assistant")
    await vote(rpc, alice, conv.id, [reply.id], "positive")
    await vote(rpc, alice, conv.id, [reply.id], "")

    assert [m["feedback"] for m in (await api.messages(alice, conv.id))["items"]] == [None]
    path = f"/api/chat/conversations/{conv.id}/feedback"
    assert (await api.get(alice, path)).json() == {"positive": 0, "negative": 0}
    assert (await api.get(bob, path)).status_code == 404
