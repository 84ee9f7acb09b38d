"""Per-user turn limits at StartTurn: the send token bucket and the concurrent-turn cap.

Against the real database through `store.start_turn`, the one place every turn (REST
and ChatKit, through the agent's StartTurn) begins.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import grpc
import psycopg
import pytest
from chat_common.errors import RateLimited, from_grpc
from conversations import store
from conversations.budgets import BUSY_RETRY_AFTER_SECONDS, TurnBudget
from conversations.models import Turn
from conversations.patches import MessagePatch

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Conn

MAX_CHARS = 10_000
# A bucket that does not refill within a test.
SLOW = 0.001


async def new_conversation(conn: Conn, user_id: uuid.UUID) -> uuid.UUID:
    return uuid.UUID((await store.create_conversation(conn, user_id=user_id)).id)


async def turn(
    conn: Conn,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    budget: TurnBudget,
    content: str = "hello",
    key: str | None = None,
) -> Turn:
    return await store.start_turn(
        conn,
        user_id=user_id,
        conversation_id=conversation_id,
        content=content,
        max_chars=MAX_CHARS,
        idempotency_key=key,
        budget=budget,
    )


async def refused(
    conn: Conn, user_id: uuid.UUID, conversation_id: uuid.UUID, budget: TurnBudget, **kw: str
) -> RateLimited:
    with pytest.raises(RateLimited) as caught:
        await turn(conn, user_id, conversation_id, budget, **kw)
    return caught.value


async def finish(conn: Conn, user_id: uuid.UUID, result: Turn) -> None:
    assert result.assistant_message is not None
    await store.update_message(
        conn,
        user_id=user_id,
        conversation_id=uuid.UUID(result.user_message.conversation_id),
        message_id=uuid.UUID(result.assistant_message.id),
        patch=MessagePatch(status="complete"),
        max_chars=MAX_CHARS,
    )


async def test_a_burst_then_429_with_the_seconds_until_the_next_token(conn: Conn) -> None:
    user, budget = uuid.uuid4(), TurnBudget(per_minute=6, burst=3)  # a token every 10 s
    conversation = await new_conversation(conn, user)
    for i in range(3):
        await turn(conn, user, conversation, budget, content=f"q{i}")
    error = await refused(conn, user, conversation, budget)
    assert 9 <= error.retry_after <= 10, error.retry_after
    assert error.headers["Retry-After"] == str(error.retry_after)


async def test_the_bucket_refills_over_time(conn: Conn) -> None:
    user, budget = uuid.uuid4(), TurnBudget(per_minute=600, burst=1)  # a token every 0.1 s
    conversation = await new_conversation(conn, user)
    await turn(conn, user, conversation, budget)
    await refused(conn, user, conversation, budget)
    await asyncio.sleep(0.15)
    await turn(conn, user, conversation, budget)


async def test_at_most_n_replies_run_at_once_per_user(conn: Conn) -> None:
    user, budget = uuid.uuid4(), TurnBudget(max_concurrent=2)
    first = await turn(conn, user, await new_conversation(conn, user), budget)
    await turn(conn, user, await new_conversation(conn, user), budget)
    error = await refused(conn, user, await new_conversation(conn, user), budget)
    assert error.retry_after == BUSY_RETRY_AFTER_SECONDS
    await finish(conn, user, first)  # one reply ends: the next turn may start
    await turn(conn, user, await new_conversation(conn, user), budget)


async def test_a_turn_refused_by_the_cap_is_not_charged(conn: Conn) -> None:
    user, budget = uuid.uuid4(), TurnBudget(per_minute=SLOW, burst=2, max_concurrent=1)
    conversation = await new_conversation(conn, user)
    running = await turn(conn, user, conversation, budget)
    await refused(conn, user, conversation, budget)  # busy, must not spend the last token
    await finish(conn, user, running)
    await turn(conn, user, conversation, budget)  # the second token is still there


async def test_a_replay_is_neither_charged_nor_refused(conn: Conn) -> None:
    user = uuid.uuid4()
    budget = TurnBudget(per_minute=SLOW, burst=2, max_concurrent=1)
    conversation = await new_conversation(conn, user)
    first = await turn(conn, user, conversation, budget, key="k1")
    for _ in range(3):  # at the cap, and each replay would cost the last token
        again = await turn(conn, user, conversation, budget, key="k1")
        assert again.replayed and again.user_message.id == first.user_message.id
    await finish(conn, user, first)
    await turn(conn, user, conversation, budget)  # the second token was never spent
    await refused(conn, user, conversation, budget, key="k2")


async def test_a_refused_turn_stores_nothing(conn: Conn) -> None:
    user, budget = uuid.uuid4(), TurnBudget(per_minute=SLOW, burst=1)
    conversation = await new_conversation(conn, user)
    await turn(conn, user, conversation, budget, content="first")
    before = await store.get_conversation(conn, user_id=user, conversation_id=conversation)
    await refused(conn, user, conversation, budget, content="second", key="k")
    stored = await store.list_messages(conn, user_id=user, conversation_id=conversation, limit=100)
    assert [m.content for m in stored.messages] == ["first", ""]
    after = await store.get_conversation(conn, user_id=user, conversation_id=conversation)
    assert after == before  # neither updated_at nor title moved


async def test_one_users_limits_leave_other_users_alone(conn: Conn) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    budget = TurnBudget(per_minute=SLOW, burst=1, max_concurrent=1)
    alices = await new_conversation(conn, alice)
    await turn(conn, alice, alices, budget)
    await refused(conn, alice, alices, budget)
    await turn(conn, bob, await new_conversation(conn, bob), budget)


async def test_concurrent_turns_never_overspend_the_bucket(database_url: str) -> None:
    user, budget = uuid.uuid4(), TurnBudget(per_minute=SLOW, burst=5)
    results = await concurrent_turns(database_url, user, budget, count=20)
    assert sum(not isinstance(r, RateLimited) for r in results) == 5, results
    assert sum(isinstance(r, RateLimited) for r in results) == 15, results


async def test_concurrent_turns_never_exceed_the_cap(database_url: str) -> None:
    user, budget = uuid.uuid4(), TurnBudget(max_concurrent=3)
    results = await concurrent_turns(database_url, user, budget, count=12)
    assert sum(not isinstance(r, RateLimited) for r in results) == 3, results


async def concurrent_turns(
    database_url: str, user: uuid.UUID, budget: TurnBudget, *, count: int
) -> list[Turn | BaseException]:
    """`count` StartTurns of one user at once, each on its own connection (as from
    several replicas), into a few conversations."""
    conns = [
        await psycopg.AsyncConnection.connect(database_url, autocommit=True) for _ in range(count)
    ]
    try:
        conversations = [await new_conversation(conns[0], user) for _ in range(3)]
        return await asyncio.gather(
            *(
                turn(c, user, conversations[i % 3], budget, content=f"q{i}")
                for i, c in enumerate(conns)
            ),
            return_exceptions=True,
        )
    finally:
        for c in conns:
            await c.close()


def test_rate_limited_crosses_grpc_with_its_retry_after() -> None:
    """What ErrorInterceptor sends (code, message, trailing metadata) and what the
    agent's client makes of it again."""
    error = RateLimited("slow down", retry_after=12)
    back = from_grpc(error.grpc_code, error.message, error.trailing_metadata())
    assert isinstance(back, RateLimited)
    assert (back.retry_after, back.message, back.status) == (12, "slow down", 429)
    assert back.headers["Retry-After"] == "12"
    bytes_metadata = (("retry-after", b"7"),)
    assert from_grpc(grpc.StatusCode.RESOURCE_EXHAUSTED, None, bytes_metadata).headers == {
        "Retry-After": "7"
    }
    assert from_grpc(grpc.StatusCode.RESOURCE_EXHAUSTED, "x").headers == {"Retry-After": "1"}
