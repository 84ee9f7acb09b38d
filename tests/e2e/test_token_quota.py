"""TOKENS_PER_DAY through the gateway, and the usage ledger that counts it: a user who
spent the day's model tokens gets 429 with Retry-After and the RateLimit headers on
REST and an error event on ChatKit (a new message or a retry of an old one, which keeps
the reply it would have replaced), and nothing is stored or sent to the model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from chat_testkit.plugin import DatabaseFactory
from devstack import Stack

from tests.helpers.gateway import (
    GatewayClient,
    chatkit_input,
    created_thread_id,
    thread_create,
)
from tests.helpers.model import model_calls
from tests.helpers.stacks import own_stack

MODEL = "quota-test-model"
TOKENS_PER_DAY = 1  # the first turn of the day runs, and spends it


@pytest.fixture(scope="module")
def quota_stack(
    make_database: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A stack of its own with a tiny tokens-per-day quota (the session stack has none)."""
    service_env = {
        "agent": {"OPENAI_MODEL": MODEL},
        "conversations": {"TOKENS_PER_DAY": str(TOKENS_PER_DAY)},
    }
    with own_stack("quota", make_database, tmp_path_factory, service_env=service_env) as running:
        yield running


@pytest.fixture
async def gateway(quota_stack: Stack) -> AsyncIterator[GatewayClient]:
    async with GatewayClient(quota_stack.gateway_url) as client:
        yield client


def refusal(events: list[Any]) -> str:
    """The message of the stream's error event (there must be one)."""
    errors = [e for e in events if e["type"] == "error"]
    assert errors, events
    message: str = errors[0]["message"]
    return message


async def test_a_user_over_the_daily_tokens_is_refused_before_the_model(
    gateway: GatewayClient, quota_stack: Stack
) -> None:
    user = await gateway.sign_up()
    conversation = await gateway.create_conversation(user)
    first = await gateway.send(user, conversation["id"], "spend it")
    assert first.status_code == 201, first.text
    calls = await model_calls(quota_stack)

    refused = await gateway.send(user, conversation["id"], "one more")
    assert refused.status_code == 429, refused.text
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 86_400
    assert refused.headers["ratelimit-policy"] == f'"tokens";q={TOKENS_PER_DAY};w=86400'
    assert refused.headers["ratelimit"] == f'"tokens";r=0;t={retry_after}'

    add = {
        "type": "threads.add_user_message",
        "params": {"thread_id": conversation["id"], "input": chatkit_input("over ChatKit")},
    }
    assert "try again in" in refusal(await gateway.chatkit(user, add))
    assert await model_calls(quota_stack) == calls, "a refused turn called the model"

    stored = await gateway.messages(user, conversation["id"])
    # The refused ChatKit send keeps its user item (the SDK stores it before the reply
    # starts; retry_after_item answers it later), and got no reply.
    roles = [m["role"] for m in stored]
    assert roles == ["user", "assistant", "user"], "a refused turn stored a reply"


async def test_retrying_the_reply_that_spent_them_is_refused_too(
    gateway: GatewayClient, quota_stack: Stack
) -> None:
    # A retry replaces the old reply only once allowed (StartReply(retry) deletes it in the
    # budgeted transaction): refused, the reply that spent the tokens stays, and counts.
    user = await gateway.sign_up()
    created = await gateway.chatkit(user, thread_create("spend it"))
    thread_id = created_thread_id(created)
    user_item = next(e["item"]["id"] for e in created if e["type"] == "thread.item.done")
    assert (await gateway.send(user, thread_id, "one more")).status_code == 429
    calls = await model_calls(quota_stack)
    before = await gateway.messages(user, thread_id)
    assert [m["role"] for m in before] == ["user", "assistant"]

    retry = {
        "type": "threads.retry_after_item",
        "params": {"thread_id": thread_id, "item_id": user_item},
    }
    assert "try again in" in refusal(await gateway.chatkit(user, retry))

    assert await model_calls(quota_stack) == calls, "a refused retry called the model"
    usage = (await gateway.http.get("/api/chat/usage", headers=user.headers)).json()
    assert [row["turns"] for row in usage["items"]] == [1], "the old reply's usage went"
    assert await gateway.messages(user, thread_id) == before, "a refused retry lost the reply"


async def test_the_usage_ledger_shows_the_turn_by_day_and_model(gateway: GatewayClient) -> None:
    user, other = await gateway.sign_up(), await gateway.sign_up()
    conversation = await gateway.create_conversation(user)
    assert (await gateway.send(user, conversation["id"], "count me")).status_code == 201

    response = await gateway.http.get("/api/chat/usage", headers=user.headers)
    assert response.status_code == 200, response.text
    (row,) = response.json()["items"]
    assert (row["day"], row["model"], row["turns"]) == (
        datetime.now(UTC).date().isoformat(),
        MODEL,
        1,
    )
    assert row["input_tokens"] > 0 and row["output_tokens"] > 0

    theirs = await gateway.http.get("/api/chat/usage", headers=other.headers)
    assert theirs.json() == {"items": []}
    bad = await gateway.http.get("/api/chat/usage?from=2026-13-01", headers=user.headers)
    assert bad.status_code == 422, bad.text
