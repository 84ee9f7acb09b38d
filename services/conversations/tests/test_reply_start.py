"""StartReply: the reply to a user message already stored (ChatKit's turns), under the
same per-user budget as StartTurn, idempotent per user message. Against the real database."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import grpc
import psycopg
import pytest
from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import NotFound, RateLimited
from conversations import reply_start, store
from conversations.budgets import UNLIMITED, TurnBudget
from conversations.models import MessageRecord, StartedReply
from conversations.patches import MessagePatch

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Conn, Rpc, User

MAX_CHARS = 10_000
SLOW = 0.001  # a bucket that does not refill within a test


async def user_message(
    conn: Conn, user: uuid.UUID, conversation: uuid.UUID | None = None
) -> MessageRecord:
    """A user message stored on its own (as ChatKit's store does), in a new conversation
    unless one is given."""
    if conversation is None:
        conversation = uuid.UUID((await store.create_conversation(conn, user_id=user)).id)
    record = await store.append_message(
        conn,
        user_id=user,
        conversation_id=conversation,
        role="user",
        content="hello",
        max_chars=MAX_CHARS,
    )
    return record


async def reply(
    conn: Conn,
    user: uuid.UUID,
    message: MessageRecord,
    budget: TurnBudget = UNLIMITED,
    history: int = 0,
    *,
    continuation: bool = False,
    retry: bool = False,
) -> StartedReply:
    return await reply_start.start_reply(
        conn,
        user_id=user,
        conversation_id=uuid.UUID(message.conversation_id),
        user_message_id=uuid.UUID(message.id),
        history_limit=history,
        budget=budget,
        continuation=continuation,
        retry=retry,
    )


async def finish(conn: Conn, user: uuid.UUID, started: StartedReply) -> None:
    message = started.assistant_message
    await store.update_message(
        conn,
        user_id=user,
        conversation_id=uuid.UUID(message.conversation_id),
        message_id=uuid.UUID(message.id),
        patch=MessagePatch(status="complete"),
        max_chars=MAX_CHARS,
    )


async def replies(conn: Conn, conversation_id: str) -> int:
    cursor = await conn.execute(
        "SELECT count(*) FROM messages WHERE conversation_id = %s AND role = 'assistant'",
        (conversation_id,),
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(str(row[0]))


async def test_a_reply_to_a_stored_user_message_is_in_progress_and_answers_it(conn: Conn) -> None:
    user = uuid.uuid4()
    first = await user_message(conn, user)
    started = await reply(conn, user, first, history=10)
    message = started.assistant_message
    assert (message.role, message.status, message.content) == ("assistant", "in_progress", "")
    assert message.conversation_id == first.conversation_id and not started.replayed
    assert [m.id for m in started.history or ()] == [first.id]  # up to its user message


async def test_a_repeat_returns_the_same_reply_and_is_not_charged(conn: Conn) -> None:
    user, budget = uuid.uuid4(), TurnBudget(per_minute=SLOW, burst=1)
    first = await user_message(conn, user)
    started = await reply(conn, user, first, budget)
    again = await reply(conn, user, first, budget)  # the bucket is empty: a charge would 429
    assert again.replayed and again.assistant_message.id == started.assistant_message.id
    assert await replies(conn, first.conversation_id) == 1


async def test_concurrent_starts_for_one_message_store_one_reply(
    conn: Conn, database_url: str
) -> None:
    user = uuid.uuid4()
    first = await user_message(conn, user)

    async def start() -> StartedReply:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as c:
            return await reply(c, user, first)

    results = await asyncio.gather(*(start() for _ in range(4)))
    assert len({r.assistant_message.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert await replies(conn, first.conversation_id) == 1


async def test_over_the_rate_it_is_refused_and_stores_nothing(conn: Conn) -> None:
    user, budget = uuid.uuid4(), TurnBudget(per_minute=SLOW, burst=1)
    first = await user_message(conn, user)
    await finish(conn, user, await reply(conn, user, first, budget))
    second = await user_message(conn, user, uuid.UUID(first.conversation_id))
    with pytest.raises(RateLimited) as caught:
        await reply(conn, user, second, budget)
    assert caught.value.retry_after > 0
    assert await replies(conn, first.conversation_id) == 1


async def test_at_the_concurrency_cap_it_is_refused(conn: Conn) -> None:
    user, budget = uuid.uuid4(), TurnBudget(max_concurrent=1)
    await reply(conn, user, await user_message(conn, user), budget)  # still in progress
    other = await user_message(conn, user)
    with pytest.raises(RateLimited, match="at most 1 replies"):
        await reply(conn, user, other, budget)
    assert await replies(conn, other.conversation_id) == 0


async def test_after_its_reply_is_deleted_a_retry_gets_a_new_one(conn: Conn) -> None:
    user = uuid.uuid4()
    first = await user_message(conn, user)
    old = (await reply(conn, user, first)).assistant_message
    await store.delete_message(
        conn,
        user_id=user,
        conversation_id=uuid.UUID(first.conversation_id),
        message_id=uuid.UUID(old.id),
    )
    new = await reply(conn, user, first)
    assert not new.replayed and new.assistant_message.id != old.id


async def test_only_the_callers_user_messages_can_be_answered(conn: Conn) -> None:
    user = uuid.uuid4()
    first = await user_message(conn, user)
    with pytest.raises(NotFound):
        await reply(conn, uuid.uuid4(), first)  # another user's message
    answer = (await reply(conn, user, first)).assistant_message
    with pytest.raises(NotFound):
        await reply(conn, user, answer)  # not a user message


async def test_over_grpc_only_the_agent_starts_a_reply_and_a_repeat_replays(
    rpc: Rpc, alice: User
) -> None:
    conv = await rpc.conversation(alice)
    question = await rpc.append(alice, conv.id, "question")
    request = pb.StartReplyRequest(
        conversation_id=conv.id, user_message_id=question.id, history_limit=5
    )

    assert await rpc.error(alice, "StartReply", request, as_agent=False) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    first = await rpc(alice, "StartReply", request, as_agent=True)
    again = await rpc(alice, "StartReply", request, as_agent=True)

    assert (first.assistant_message.status, first.replayed) == ("in_progress", False)
    assert [m.id for m in first.history] == [question.id]
    assert (again.assistant_message.id, again.replayed) == (first.assistant_message.id, True)
