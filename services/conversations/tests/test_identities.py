"""Who may call what over gRPC: the RPCs that write replies are for the agent's service
identity (a user's token there is PERMISSION_DENIED), and the agent still only ever
acts inside the conversations of the user it names."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import grpc
import pytest
from chat.conversations.v1 import conversations_pb2 as pb
from chat_testkit.tokens import TestKeys as SigningKeys

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Rpc, User


@pytest.mark.parametrize("role", ["assistant", "tool", "system"])
async def test_a_user_token_cannot_append_agent_roles(rpc: Rpc, alice: User, role: str) -> None:
    conversation = await rpc.conversation(alice)
    request = pb.AppendMessageRequest(conversation_id=conversation.id, role=role, content="x")

    code = await rpc.error(alice, "AppendMessage", request, as_agent=False)

    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert await rpc.history(alice, conversation.id) == []


async def test_a_user_token_may_still_append_its_own_words(rpc: Rpc, alice: User) -> None:
    conversation = await rpc.conversation(alice)
    request = pb.AppendMessageRequest(conversation_id=conversation.id, role="user", content="hi")

    stored = await rpc(alice, "AppendMessage", request, as_agent=False)

    assert stored.role == "user"


async def test_a_user_token_cannot_start_a_turn(rpc: Rpc, alice: User) -> None:
    conversation = await rpc.conversation(alice)
    request = pb.StartTurnRequest(conversation_id=conversation.id, content="hi")

    code = await rpc.error(alice, "StartTurn", request, as_agent=False)

    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert await rpc.history(alice, conversation.id) == []


async def test_a_user_token_cannot_rewrite_a_reply_or_its_usage(rpc: Rpc, alice: User) -> None:
    conversation = await rpc.conversation(alice)
    turn = await rpc.turn(alice, conversation.id, "hello")
    request = pb.UpdateMessageRequest(
        conversation_id=conversation.id,
        message_id=turn.assistant_message.id,
        content="words the model never said",
        status="complete",
        usage=pb.Usage(input_tokens=0, output_tokens=0),
    )

    code = await rpc.error(alice, "UpdateMessage", request, as_agent=False)

    assert code == grpc.StatusCode.PERMISSION_DENIED
    stored = await rpc.history(alice, conversation.id)
    assert (stored[-1].content, stored[-1].status) == ("", "in_progress")


async def test_a_user_token_lists_at_most_a_rest_page(rpc: Rpc, alice: User) -> None:
    conversation = await rpc.conversation(alice)
    request = pb.ListMessagesRequest(conversation_id=conversation.id, limit=1000)

    assert await rpc.error(alice, "ListMessages", request, as_agent=False) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    assert await rpc(alice, "ListMessages", request, as_agent=True) is not None


async def test_the_agent_acts_only_inside_the_named_users_conversations(
    rpc: Rpc, alice: User, bob: User
) -> None:
    conversation = await rpc.conversation(alice)
    request = pb.StartTurnRequest(conversation_id=conversation.id, content="hi")

    # The agent acting for bob cannot reach alice's conversation.
    assert await rpc.error(bob, "StartTurn", request) == grpc.StatusCode.NOT_FOUND
    assert await rpc.history(alice, conversation.id) == []


async def test_a_service_token_without_the_agent_scope_is_denied(
    rpc: Rpc, alice: User, test_keys: SigningKeys
) -> None:
    conversation = await rpc.conversation(alice)
    token = test_keys.service_token("reporting", scope="conversations:read")
    metadata = (("authorization", f"Bearer {token}"), ("x-acting-user", str(alice.id)))
    request = pb.StartTurnRequest(conversation_id=conversation.id, content="hi")

    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await rpc.stub.StartTurn(request, metadata=metadata, timeout=10)

    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("acting_user", ["", "not-a-uuid", f"{uuid.uuid4()}0"])
async def test_a_bad_acting_user_is_unauthenticated(
    rpc: Rpc, alice: User, acting_user: str
) -> None:
    metadata = (("authorization", f"Bearer {alice.agent_token}"), ("x-acting-user", acting_user))
    request = pb.ListConversationsRequest()

    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await rpc.stub.ListConversations(request, metadata=metadata, timeout=10)

    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_user_token_cannot_pose_as_the_agent(rpc: Rpc, alice: User, bob: User) -> None:
    metadata = (("authorization", f"Bearer {bob.token}"), ("x-acting-user", str(alice.id)))

    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await rpc.stub.ListConversations(pb.ListConversationsRequest(), metadata=metadata)

    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
