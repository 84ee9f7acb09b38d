"""TOKENS_PER_DAY at StartTurn: a user who spent the day's model tokens (in + out, UTC
day, read from the usage ledger) gets no new turn until midnight UTC, and deleting
the replies that spent them changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from conversations import store
from conversations.budgets import TurnBudget
from conversations.models import Turn
from conversations.patches import MessagePatch

from .conftest import Conn
from .test_budgets import MAX_CHARS, new_conversation, refused, turn

QUOTA = TurnBudget(tokens_per_day=100)


async def spend(conn: Conn, user: uuid.UUID, result: Turn, tokens: int) -> None:
    """Ends the reply of `result` with `tokens` used (half in, half out)."""
    assert result.assistant_message is not None
    await store.update_message(
        conn,
        user_id=user,
        conversation_id=uuid.UUID(result.user_message.conversation_id),
        message_id=uuid.UUID(result.assistant_message.id),
        patch=MessagePatch(
            status="complete", input_tokens=tokens // 2, output_tokens=tokens - tokens // 2
        ),
        max_chars=MAX_CHARS,
    )


async def test_under_the_quota_turns_start(conn: Conn) -> None:
    user = uuid.uuid4()
    conversation = await new_conversation(conn, user)
    await spend(conn, user, await turn(conn, user, conversation, QUOTA), 99)
    await turn(conn, user, conversation, QUOTA)  # 99 < 100: the one that crosses it runs


async def test_over_the_quota_429_until_midnight_utc(conn: Conn) -> None:
    user = uuid.uuid4()
    conversation = await new_conversation(conn, user)
    await spend(conn, user, await turn(conn, user, conversation, QUOTA), 100)
    error = await refused(conn, user, conversation, QUOTA)
    midnight = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), datetime.min.time())
    until = (midnight.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()
    assert abs(error.retry_after - until) <= 2 or error.retry_after == 1, error.retry_after
    assert error.headers["RateLimit-Policy"] == '"tokens";q=100;w=86400'
    assert error.headers["RateLimit"] == f'"tokens";r=0;t={error.retry_after}'
    assert "tokens" in error.message


async def test_a_refused_turn_stores_nothing(conn: Conn) -> None:
    user = uuid.uuid4()
    conversation = await new_conversation(conn, user)
    await spend(conn, user, await turn(conn, user, conversation, QUOTA, content="first"), 500)
    await refused(conn, user, conversation, QUOTA, content="second")
    stored = await store.list_messages(conn, user_id=user, conversation_id=conversation, limit=100)
    assert [m.content for m in stored.messages] == ["first", ""]


async def test_yesterdays_tokens_do_not_count(conn: Conn) -> None:
    user = uuid.uuid4()
    conversation = await new_conversation(conn, user)
    await spend(conn, user, await turn(conn, user, conversation, QUOTA), 1000)
    await conn.execute("UPDATE usage_days SET day = day - 1 WHERE user_id = %s", (user,))
    await turn(conn, user, conversation, QUOTA)


async def test_deleting_the_reply_that_spent_them_does_not_give_them_back(conn: Conn) -> None:
    # ChatKit's retry deletes the old reply before it starts the new one.
    user = uuid.uuid4()
    conversation = await new_conversation(conn, user)
    spender = await turn(conn, user, conversation, QUOTA)
    await spend(conn, user, spender, 100)
    assert spender.assistant_message is not None
    reply = uuid.UUID(spender.assistant_message.id)
    await store.delete_message(conn, user_id=user, conversation_id=conversation, message_id=reply)
    await refused(conn, user, conversation, QUOTA)


async def test_deleting_or_purging_the_conversation_does_not_either(conn: Conn) -> None:
    user = uuid.uuid4()
    spent_in = await new_conversation(conn, user)
    await spend(conn, user, await turn(conn, user, spent_in, QUOTA), 100)
    await store.delete_conversation(conn, user_id=user, conversation_id=spent_in)
    await refused(conn, user, await new_conversation(conn, user), QUOTA)
    await conn.execute("DELETE FROM conversations WHERE user_id = %s", (user,))  # the purge
    await refused(conn, user, await new_conversation(conn, user), QUOTA)


async def test_one_users_spending_leaves_others_alone(conn: Conn) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    alices = await new_conversation(conn, alice)
    await spend(conn, alice, await turn(conn, alice, alices, QUOTA), 1000)
    await refused(conn, alice, alices, QUOTA)
    await turn(conn, bob, await new_conversation(conn, bob), QUOTA)


async def test_a_replay_of_a_started_turn_is_not_refused(conn: Conn) -> None:
    user = uuid.uuid4()
    conversation = await new_conversation(conn, user)
    first = await turn(conn, user, conversation, QUOTA, key="k1")
    await spend(conn, user, first, 1000)
    again = await turn(conn, user, conversation, QUOTA, key="k1")
    assert again.replayed and again.user_message.id == first.user_message.id


async def test_off_by_default() -> None:
    assert TurnBudget().tokens_per_day == 0 and not TurnBudget().enabled
