"""StartReply with `continuation`: ChatKit goes on with a turn without a new user message
(a client tool's output, structured input's answers). The anchor is a `tool` result or an
answered structured-input row; the reply is idempotent per anchor and charged to the same
per-user budget. Against the real database."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import orjson
import pytest
from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import NotFound, RateLimited
from conversations import store
from conversations.budgets import UNLIMITED, TurnBudget
from conversations.models import MessageRecord, StartedReply

from services.conversations.tests.test_reply_start import (
    MAX_CHARS,
    SLOW,
    finish,
    replies,
    reply,
    user_message,
)

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Conn, Rpc, User


def structured_input(status: str) -> str:
    item = {"type": "structured_input", "status": status, "inputs": []}
    return orjson.dumps({"item": item}).decode()


async def row_after(
    conn: Conn, user: uuid.UUID, first: MessageRecord, role: str, payload: str | None = None
) -> MessageRecord:
    """A row stored after `first` in its conversation (a tool result, an item)."""
    return await store.append_message(
        conn,
        user_id=user,
        conversation_id=uuid.UUID(first.conversation_id),
        role=role,
        content="sunny" if role == "tool" else "",
        max_chars=MAX_CHARS,
        payload_json=payload,
    )


async def go_on(
    conn: Conn, user: uuid.UUID, anchor: MessageRecord, budget: TurnBudget = UNLIMITED
) -> StartedReply:
    return await reply(conn, user, anchor, budget, history=10, continuation=True)


async def test_a_continuation_from_a_tool_result_is_charged_and_a_repeat_replays(
    conn: Conn,
) -> None:
    user, budget = uuid.uuid4(), TurnBudget(per_minute=SLOW, burst=2)
    first = await user_message(conn, user)
    await finish(conn, user, await reply(conn, user, first, budget))
    tool = await row_after(conn, user, first, "tool")

    started = await go_on(conn, user, tool, budget)
    again = await go_on(conn, user, tool, budget)  # the bucket is empty: a charge would 429

    assert not started.replayed and started.assistant_message.status == "in_progress"
    assert [m.id for m in started.history or ()][-1] == tool.id  # up to its anchor
    assert again.replayed and again.assistant_message.id == started.assistant_message.id
    assert await replies(conn, first.conversation_id) == 2


async def test_a_continuation_over_the_budget_is_refused_and_stores_nothing(conn: Conn) -> None:
    user, budget = uuid.uuid4(), TurnBudget(per_minute=SLOW, burst=1)
    first = await user_message(conn, user)
    await finish(conn, user, await reply(conn, user, first, budget))
    tool = await row_after(conn, user, first, "tool")
    with pytest.raises(RateLimited) as caught:
        await go_on(conn, user, tool, budget)
    assert caught.value.retry_after > 0
    assert await replies(conn, first.conversation_id) == 1


async def test_only_answered_structured_input_is_an_anchor(conn: Conn) -> None:
    user = uuid.uuid4()
    first = await user_message(conn, user)
    pending = await row_after(conn, user, first, "assistant", structured_input("pending"))
    with pytest.raises(NotFound):
        await go_on(conn, user, pending)
    answered = await row_after(conn, user, first, "assistant", structured_input("answered"))
    assert not (await go_on(conn, user, answered)).replayed


async def test_a_continuation_needs_a_continuation_anchor(conn: Conn) -> None:
    user = uuid.uuid4()
    first = await user_message(conn, user)
    with pytest.raises(NotFound):
        await go_on(conn, user, first)  # a user message is answered, not continued
    answer = (await reply(conn, user, first)).assistant_message
    with pytest.raises(NotFound):
        await go_on(conn, user, answer)  # a plain reply is no anchor
    tool = await row_after(conn, user, first, "tool")
    with pytest.raises(NotFound):
        await reply(conn, user, tool)  # without the flag a tool row is not answered
    with pytest.raises(NotFound):
        await go_on(conn, uuid.uuid4(), tool)  # another user's row


async def test_over_grpc_a_continuation_starts_a_reply_to_its_tool_row(
    rpc: Rpc, alice: User
) -> None:
    conv = await rpc.conversation(alice)
    await rpc.append(alice, conv.id, "question")
    tool = await rpc(
        alice,
        "AppendMessage",
        pb.AppendMessageRequest(conversation_id=conv.id, role="tool", content="sunny"),
        as_agent=True,
    )
    request = pb.StartReplyRequest(
        conversation_id=conv.id, user_message_id=tool.id, continuation=True
    )
    first = await rpc(alice, "StartReply", request, as_agent=True)
    again = await rpc(alice, "StartReply", request, as_agent=True)
    assert (first.assistant_message.status, first.replayed) == ("in_progress", False)
    assert (again.assistant_message.id, again.replayed) == (first.assistant_message.id, True)
