"""GET /api/chat/usage: the caller's model tokens per UTC day and model (the usage
ledger), charged once when a reply becomes final and kept when messages are deleted."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import grpc
import psycopg
import pytest
from chat.conversations.v1 import conversations_pb2 as pb

from .conftest import Api, Conn, Rpc, User

USAGE = "/api/chat/usage"


async def reply(rpc: Rpc, user: User, tokens: tuple[int, int], model: str = "gpt-test") -> str:
    """One finished turn of `user` whose reply used `tokens` (in, out) of `model`."""
    conv = await rpc.conversation(user, title="usage")
    turn = await rpc.turn(user, conv.id, "hello")
    await finish(rpc, user, turn, tokens, model)
    return str(turn.assistant_message.id)


async def finish(
    rpc: Rpc,
    user: User,
    turn: pb.StartTurnResponse,
    tokens: tuple[int, int],
    model: str = "gpt-test",
) -> None:
    """The agent's final write of `turn`'s reply."""
    request = pb.UpdateMessageRequest(
        conversation_id=turn.assistant_message.conversation_id,
        message_id=turn.assistant_message.id,
        status="complete",
        content="hi",
        usage=pb.Usage(input_tokens=tokens[0], output_tokens=tokens[1], model=model),
    )
    await rpc(user, "UpdateMessage", request)


async def usage(api: Api, user: User, **params: str) -> list[dict[str, Any]]:
    response = await api.get(user, USAGE, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def today() -> date:
    return datetime.now(UTC).date()


async def test_one_row_per_day_and_model_with_the_sums(api: Api, rpc: Rpc, alice: User) -> None:
    await reply(rpc, alice, (10, 5))
    await reply(rpc, alice, (7, 3))
    await reply(rpc, alice, (1, 1), model="other-model")
    day = today().isoformat()
    assert await usage(api, alice) == [
        {"day": day, "model": "gpt-test", "input_tokens": 17, "output_tokens": 8, "turns": 2},
        {"day": day, "model": "other-model", "input_tokens": 1, "output_tokens": 1, "turns": 1},
    ]


async def test_days_are_utc_dates_and_the_range_is_inclusive(
    api: Api, rpc: Rpc, alice: User, conn: psycopg.AsyncConnection[Any]
) -> None:
    await reply(rpc, alice, (4, 2), model="earlier")
    await reply(rpc, alice, (1, 1))
    first = today() - timedelta(days=3)
    await conn.execute(
        "UPDATE usage_days SET day = %s WHERE user_id = %s AND model = 'earlier'",
        (first, alice.id),
    )
    rows = await usage(api, alice, **{"from": first.isoformat(), "to": first.isoformat()})
    assert [(r["day"], r["input_tokens"]) for r in rows] == [(first.isoformat(), 4)]
    everything = await usage(api, alice)
    assert [r["day"] for r in everything] == [first.isoformat(), today().isoformat()]
    later = (first + timedelta(days=1)).isoformat()
    assert [r["day"] for r in await usage(api, alice, **{"from": later})] == [today().isoformat()]


async def test_deleting_the_reply_or_its_conversation_keeps_the_spend(
    api: Api, rpc: Rpc, alice: User
) -> None:
    conv = await rpc.conversation(alice, title="usage")
    turn = await rpc.turn(alice, conv.id, "hello")
    await finish(rpc, alice, turn, (10, 5))
    await rpc(
        alice,
        "DeleteMessage",
        pb.DeleteMessageRequest(conversation_id=conv.id, message_id=turn.assistant_message.id),
    )
    await reply(rpc, alice, (1, 1))
    path = f"/api/chat/conversations/{conv.id}"
    assert (await api.request(alice, "DELETE", path)).status_code == 204
    [row] = await usage(api, alice)
    assert (row["input_tokens"], row["output_tokens"], row["turns"]) == (11, 6, 2)


async def test_a_retried_final_write_is_charged_once(api: Api, rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice, title="usage")
    turn = await rpc.turn(alice, conv.id, "hello")
    await finish(rpc, alice, turn, (10, 5))
    await finish(rpc, alice, turn, (10, 5))  # the agent's retry of the same final write
    [row] = await usage(api, alice)
    assert (row["input_tokens"], row["output_tokens"], row["turns"]) == (10, 5, 1)


async def test_a_reply_ended_without_usage_counts_its_turn(api: Api, rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice, title="usage")
    turn = await rpc.turn(alice, conv.id, "hello")
    request = pb.UpdateMessageRequest(
        conversation_id=conv.id, message_id=turn.assistant_message.id, status="interrupted"
    )
    await rpc(alice, "UpdateMessage", request)
    assert [(r["model"], r["input_tokens"], r["turns"]) for r in await usage(api, alice)] == [
        ("", 0, 1)
    ]


async def test_a_cancelled_replys_late_usage_is_charged_once(
    api: Api, rpc: Rpc, alice: User
) -> None:
    conv = await rpc.conversation(alice, title="usage")
    turn = await rpc.turn(alice, conv.id, "hello")
    reply_id = turn.assistant_message.id
    cancel = pb.UpdateMessageRequest(
        conversation_id=conv.id, message_id=reply_id, status="interrupted"
    )
    await rpc(alice, "UpdateMessage", cancel)
    late = pb.UpdateMessageRequest(
        conversation_id=conv.id,
        message_id=reply_id,
        usage=pb.Usage(input_tokens=10, output_tokens=5, model="gpt-test"),
    )
    await rpc(alice, "UpdateMessage", late)
    await rpc(alice, "UpdateMessage", late)  # the agent's retry of the same write

    rows = [
        (r["model"], r["input_tokens"], r["output_tokens"], r["turns"])
        for r in await usage(api, alice)
    ]
    # One turn with its tokens, under the model that came with the late usage.
    assert rows == [("gpt-test", 10, 5, 1)]


async def test_late_usage_after_midnight_lands_on_the_day_the_reply_ended(
    api: Api, rpc: Rpc, alice: User, conn: Conn
) -> None:
    conv = await rpc.conversation(alice, title="usage")
    turn = await rpc.turn(alice, conv.id, "hello")
    reply_id = turn.assistant_message.id
    cancel = pb.UpdateMessageRequest(
        conversation_id=conv.id, message_id=reply_id, status="interrupted"
    )
    await rpc(alice, "UpdateMessage", cancel)
    # As if the cancel had happened yesterday: the reply and its turn, a day back.
    await conn.execute(
        "UPDATE messages SET updated_at = updated_at - interval '1 day' WHERE id = %s",
        (reply_id,),
    )
    await conn.execute("UPDATE usage_days SET day = day - 1 WHERE user_id = %s", (alice.id,))
    late = pb.UpdateMessageRequest(
        conversation_id=conv.id,
        message_id=reply_id,
        usage=pb.Usage(input_tokens=10, output_tokens=5, model="gpt-test"),
    )
    await rpc(alice, "UpdateMessage", late)

    yesterday = (today() - timedelta(days=1)).isoformat()
    rows = [
        (r["day"], r["model"], r["input_tokens"], r["output_tokens"], r["turns"])
        for r in await usage(api, alice, **{"from": yesterday})
    ]
    assert rows == [(yesterday, "gpt-test", 10, 5, 1)]


async def test_another_users_usage_is_invisible(api: Api, rpc: Rpc, alice: User, bob: User) -> None:
    await reply(rpc, alice, (100, 100))
    assert await usage(api, bob) == []


async def test_replies_without_a_model_count_under_an_empty_name(
    api: Api, rpc: Rpc, alice: User
) -> None:
    await reply(rpc, alice, (2, 3), model="")
    assert [(r["model"], r["output_tokens"]) for r in await usage(api, alice)] == [("", 3)]


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-02-30"},
        {"from": "yesterday"},
        {"from": "2026-03-02", "to": "2026-03-01"},
        {"from": "2025-01-01", "to": "2026-01-02"},  # 367 days
        {"to": "0001-01-02"},
        {"from": "9999-12-31"},
    ],
)
async def test_bad_ranges_are_422(api: Api, alice: User, params: dict[str, str]) -> None:
    response = await api.get(alice, USAGE, params=params)
    assert response.status_code == 422, response.text


async def test_a_whole_year_is_allowed(api: Api, alice: User) -> None:
    response = await api.get(alice, USAGE, params={"from": "2024-01-01", "to": "2024-12-31"})
    assert response.status_code == 200, response.text  # 366 days: a leap year


async def test_without_a_token_it_is_401(api: Api) -> None:
    assert (await api.get(None, USAGE)).status_code == 401


async def test_a_model_name_over_the_limit_is_refused(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice, title="usage")
    turn = await rpc.turn(alice, conv.id, "hello")
    request = pb.UpdateMessageRequest(
        conversation_id=conv.id,
        message_id=turn.assistant_message.id,
        usage=pb.Usage(input_tokens=1, output_tokens=1, model="m" * 201),
    )
    assert await rpc.error(alice, "UpdateMessage", request) == grpc.StatusCode.INVALID_ARGUMENT
