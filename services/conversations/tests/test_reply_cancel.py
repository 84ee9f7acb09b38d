"""`POST …/messages/{message_id}/cancel`: a reply in progress ends `interrupted` with its
text, once; its agent's next write is refused; nobody else can cancel it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from chat.conversations.v1 import conversations_pb2 as pb

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Api, Rpc, User


def cancel_path(message: pb.Message) -> str:
    return f"/api/chat/conversations/{message.conversation_id}/messages/{message.id}/cancel"


async def test_cancel_ends_a_reply_interrupted_with_its_text_and_is_idempotent(
    api: Api, rpc: Rpc, alice: User
) -> None:
    reply = await rpc.reply(alice, "Half a sent")

    first = await api.request(alice, "POST", cancel_path(reply))
    again = await api.request(alice, "POST", cancel_path(reply))

    assert first.status_code == 200, first.text
    assert first.json()["status"] == "interrupted"
    assert first.json()["content"] == "Half a sent"
    assert first.json()["id"] == reply.id
    assert again.status_code == 200
    assert again.json() == first.json()
    stored = await rpc.stored(alice, reply)
    assert (stored.status, stored.content) == ("interrupted", "Half a sent")


async def test_the_agent_learns_of_the_cancel_at_its_next_write(
    api: Api, rpc: Rpc, alice: User
) -> None:
    reply = await rpc.reply(alice, "Half")
    await api.request(alice, "POST", cancel_path(reply))

    request = pb.UpdateMessageRequest(
        conversation_id=reply.conversation_id, message_id=reply.id, content="Half a sentence"
    )
    heartbeat = pb.UpdateMessageRequest(conversation_id=reply.conversation_id, message_id=reply.id)

    assert await rpc.error(alice, "UpdateMessage", request) == grpc.StatusCode.FAILED_PRECONDITION
    assert await rpc.error(alice, "UpdateMessage", heartbeat) == grpc.StatusCode.FAILED_PRECONDITION
    assert (await rpc.stored(alice, reply)).content == "Half"


async def test_cancelling_a_final_reply_changes_nothing(api: Api, rpc: Rpc, alice: User) -> None:
    reply = await rpc.reply(alice, "Done")
    await rpc.update(alice, reply, content="Done.", status="complete")

    response = await api.request(alice, "POST", cancel_path(reply))

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["content"]) == ("complete", "Done.")


async def test_another_users_reply_and_a_user_message_are_not_found(
    api: Api, rpc: Rpc, alice: User, bob: User
) -> None:
    conv = await rpc.conversation(alice)
    turn = await rpc.turn(alice, conv.id, "hi")
    unknown = pb.Message(conversation_id=conv.id, id="00000000-0000-4000-8000-000000000000")

    by_bob = await api.request(bob, "POST", cancel_path(turn.assistant_message))
    of_user = await api.request(alice, "POST", cancel_path(turn.user_message))
    missing = await api.request(alice, "POST", cancel_path(unknown))

    assert [by_bob.status_code, of_user.status_code, missing.status_code] == [404, 404, 404]
    assert (await rpc.stored(alice, turn.assistant_message)).status == "in_progress"
