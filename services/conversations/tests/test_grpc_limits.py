"""The gRPC server's size limits are deliberate: a request beyond the largest valid one is
refused by gRPC, a page beyond the send limit is a clear INVALID_ARGUMENT, and a turn
whose history would not fit still starts, with its oldest history left out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import grpc
import psycopg
import pytest
from chat.conversations.v1 import conversations_pb2 as pb
from chat.conversations.v1 import conversations_pb2_grpc as pb_grpc
from conversations.checks import INTERNAL_MAX_CHARS
from conversations.grpc.limits import MAX_SEND_BYTES

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Rpc, User

Stub = Any  # pb_grpc.ConversationsServiceAsyncStub exists only in the stubs
BIG_REPLY = "😀" * INTERNAL_MAX_CHARS  # 4 MB of UTF-8, the longest valid reply


@pytest.fixture
async def big_stub(grpc_port: int) -> AsyncIterator[Stub]:
    """A client that accepts what the server may send (as the agent's client must)."""
    options = [("grpc.max_receive_message_length", 2 * MAX_SEND_BYTES)]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}", options) as channel:
        yield pb_grpc.ConversationsServiceStub(channel)


async def with_big_replies(rpc: Rpc, user: User, database_url: str, count: int) -> str:
    """A conversation holding `count` replies of BIG_REPLY (written in SQL: quicker)."""
    conv = await rpc.conversation(user)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(
            "INSERT INTO messages (id, conversation_id, user_id, role, content, status)"
            " SELECT gen_random_uuid(), %s, %s, 'assistant', %s, 'complete'"
            " FROM generate_series(1, %s)",
            (conv.id, user.id, BIG_REPLY, count),
        )
    return conv.id


async def test_a_request_over_the_largest_valid_one_is_refused(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    reply = (await rpc.turn(alice, conv.id, "hi")).assistant_message
    request = pb.UpdateMessageRequest(
        conversation_id=conv.id, message_id=reply.id, content="😀" * (2 * INTERNAL_MAX_CHARS)
    )

    assert await rpc.error(alice, "UpdateMessage", request) == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_the_longest_valid_reply_fits_a_request(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    reply = (await rpc.turn(alice, conv.id, "hi")).assistant_message
    request = pb.UpdateMessageRequest(conversation_id=conv.id, message_id=reply.id, content="x")
    request.content = BIG_REPLY

    await rpc(alice, "UpdateMessage", request)


async def test_a_page_over_the_send_limit_is_a_clear_error(
    big_stub: Stub, rpc: Rpc, alice: User, database_url: str
) -> None:
    conv_id = await with_big_replies(rpc, alice, database_url, count=5)  # ~20 MB

    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await big_stub.ListMessages(
            pb.ListMessagesRequest(conversation_id=conv_id),
            metadata=alice.agent_metadata,
            timeout=30,
        )

    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "ask for fewer" in (failure.value.details() or "")


async def test_a_turn_with_too_much_history_starts_with_the_newest_that_fits(
    big_stub: Stub, rpc: Rpc, alice: User, database_url: str
) -> None:
    conv_id = await with_big_replies(rpc, alice, database_url, count=5)
    request = pb.StartTurnRequest(conversation_id=conv_id, content="next", history_limit=50)

    turn: Any = await big_stub.StartTurn(request, metadata=alice.agent_metadata, timeout=30)

    assert turn.history_truncated
    assert turn.ByteSize() <= MAX_SEND_BYTES
    assert turn.history[-1].id == turn.user_message.id
    assert 1 < len(turn.history) < 6
    assert turn.assistant_message.status == "in_progress"
