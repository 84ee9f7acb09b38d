"""TOKENS_PER_DAY through the gateway, and the usage ledger that counts it: a user who
spent the day's model tokens gets 429 with Retry-After and the RateLimit headers on
REST and an error event on ChatKit, and nothing is stored or sent to the model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from chat_testkit.plugin import DatabaseFactory
from devstack import Stack

from tests.e2e.test_abuse import chatkit_input, sse_events
from tests.helpers.gateway import GatewayClient
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


async def test_a_user_over_the_daily_tokens_is_refused_before_the_model(
    gateway: GatewayClient,
) -> None:
    user = await gateway.sign_up()
    conversation = await gateway.create_conversation(user)
    first = await gateway.send(user, conversation["id"], "spend it")
    assert first.status_code == 201, first.text

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
    over_chatkit = await gateway.http.post("/chatkit", json=add, headers=user.headers)
    errors = [e for e in sse_events(over_chatkit) if e["type"] == "error"]
    assert errors and "try again in" in errors[0]["message"], over_chatkit.text

    stored = await gateway.messages(user, conversation["id"])
    # The refused ChatKit send keeps its user item (the SDK stores it before the reply
    # starts; retry_after_item answers it later), and got no reply.
    roles = [m["role"] for m in stored]
    assert roles == ["user", "assistant", "user"], "a refused turn stored a reply"


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
