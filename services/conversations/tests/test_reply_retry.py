"""StartReply with `retry` (ChatKit's retry_after_item): the rows after the user message
are deleted and a new reply started in one budgeted transaction, so a refused retry keeps
the old reply. Against the real database."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import InvalidInput, NotFound, RateLimited
from conversations.budgets import UNLIMITED, TurnBudget
from conversations.models import MessageRecord, StartedReply

from services.conversations.tests.test_reply_start import (
    SLOW,
    finish,
    reply,
    user_message,
)

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Conn, Rpc, User


async def retry(
    conn: Conn, user: uuid.UUID, message: MessageRecord, budget: TurnBudget = UNLIMITED
) -> StartedReply:
    return await reply(conn, user, message, budget, retry=True)


async def ids(conn: Conn, conversation_id: str) -> list[str]:
    """The conversation's message ids, oldest first."""
    cursor = await conn.execute(
        "SELECT id FROM messages WHERE conversation_id = %s ORDER BY seq", (conversation_id,)
    )
    return [str(row[0]) for row in await cursor.fetchall()]


async def answered_twice(
    conn: Conn, user: uuid.UUID, budget: TurnBudget
) -> tuple[MessageRecord, list[str]]:
    """A conversation of two answered user messages (budget charged twice): its first
    message, and every message id."""
    first = await user_message(conn, user)
    await finish(conn, user, await reply(conn, user, first, budget))
    second = await user_message(conn, user, uuid.UUID(first.conversation_id))
    await finish(conn, user, await reply(conn, user, second, budget))
    return first, await ids(conn, first.conversation_id)


async def test_a_retry_replaces_every_row_after_the_message_and_is_charged_once(
    conn: Conn,
) -> None:
    user, budget = uuid.uuid4(), TurnBudget(per_minute=SLOW, burst=4)
    message, _ = await answered_twice(conn, user, budget)

    started = await retry(conn, user, message, budget)  # the 3rd of 4 tokens

    assert not started.replayed and started.assistant_message.status == "in_progress"
    assert await ids(conn, message.conversation_id) == [message.id, started.assistant_message.id]
    again = await retry(conn, user, message, budget)  # the 4th: the first retry cost one
    with pytest.raises(RateLimited):
        await retry(conn, user, message, budget)
    assert await ids(conn, message.conversation_id) == [message.id, again.assistant_message.id]


async def test_a_refused_retry_deletes_nothing(conn: Conn) -> None:
    user, budget = uuid.uuid4(), TurnBudget(per_minute=SLOW, burst=2)
    message, before = await answered_twice(conn, user, budget)

    with pytest.raises(RateLimited):
        await retry(conn, user, message, budget)

    assert await ids(conn, message.conversation_id) == before


async def test_another_users_retry_deletes_nothing(conn: Conn) -> None:
    user = uuid.uuid4()
    message, before = await answered_twice(conn, user, UNLIMITED)

    with pytest.raises(NotFound):
        await retry(conn, uuid.uuid4(), message)

    assert await ids(conn, message.conversation_id) == before


async def test_a_continuation_is_no_retry(conn: Conn) -> None:
    user = uuid.uuid4()
    message = await user_message(conn, user)
    with pytest.raises(InvalidInput):
        await reply(conn, user, message, continuation=True, retry=True)


async def test_over_grpc_a_retry_starts_a_new_reply(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    question = await rpc.append(alice, conv.id, "question")
    request = pb.StartReplyRequest(conversation_id=conv.id, user_message_id=question.id)
    old = await rpc(alice, "StartReply", request, as_agent=True)

    request.retry = True
    new = await rpc(alice, "StartReply", request, as_agent=True)

    assert not new.replayed and new.assistant_message.id != old.assistant_message.id
    listed = await rpc(alice, "ListMessages", pb.ListMessagesRequest(conversation_id=conv.id))
    assert [m.id for m in listed.items] == [question.id, new.assistant_message.id]
