"""The send route's rules: idempotency, tenant isolation, bad input changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from chat_testkit import tokens as testkit_tokens
from chat_testkit.sse import parse_sse

if TYPE_CHECKING:
    from services.agent.tests.conftest import Service, Stack


async def test_a_sequential_retry_with_the_same_key_returns_the_same_turn(
    stack: Stack, agent: Service
) -> None:
    alice = stack.user()
    conv = await stack.new_conversation(alice)
    key = {"Idempotency-Key": uuid.uuid4().hex}

    first = await stack.send(agent, alice, conv, "once", headers=key)
    again = await stack.send(agent, alice, conv, "once", headers=key)

    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert len(await stack.messages(alice, conv)) == 2


async def test_concurrent_retries_with_the_same_key_make_one_turn(
    stack: Stack, agent: Service
) -> None:
    alice = stack.user()
    conv = await stack.new_conversation(alice)
    key = {"Idempotency-Key": uuid.uuid4().hex}

    answers = await asyncio.gather(
        *(stack.send(agent, alice, conv, "at once [[slow:50]]", headers=key) for _ in range(3))
    )

    assert [a.status_code for a in answers] == [201] * 3, [a.text for a in answers]
    bodies = [a.json() for a in answers]
    assert bodies[1] == bodies[0] and bodies[2] == bodies[0]
    assert bodies[0]["assistant_message"]["status"] == "complete"
    assert len(await stack.messages(alice, conv)) == 2


async def test_a_replay_over_sse_streams_the_stored_reply(stack: Stack, agent: Service) -> None:
    alice = stack.user()
    conv = await stack.new_conversation(alice)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = (await stack.send(agent, alice, conv, "replay me", headers=key)).json()

    async with stack.http.stream(
        "POST",
        f"{agent.url}/api/chat/conversations/{conv}/messages",
        json={"content": "replay me"},
        headers={**stack.auth(alice), **key, "Accept": "text/event-stream"},
    ) as response:
        events = parse_sse((await response.aread()).decode())

    names = [event.event for event in events]
    assert "user_message" in names
    assert names[-1] == "assistant_message"
    assert events[-1].data["id"] == first["assistant_message"]["id"]
    assert len(await stack.messages(alice, conv)) == 2


async def test_the_same_key_with_another_body_is_a_conflict(stack: Stack, agent: Service) -> None:
    alice = stack.user()
    conv = await stack.new_conversation(alice)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    assert (await stack.send(agent, alice, conv, "first", headers=key)).status_code == 201

    response = await stack.send(agent, alice, conv, "second", headers=key)

    assert response.status_code == 409, response.text
    assert len(await stack.messages(alice, conv)) == 2


async def test_another_users_conversation_is_not_found_and_nothing_is_stored(
    stack: Stack, agent: Service
) -> None:
    alice, bob = stack.user(), stack.user()
    conv = await stack.new_conversation(alice)

    response = await stack.send(agent, bob, conv, "let me in")

    assert response.status_code == 404, response.text
    assert response.json() == {"detail": response.json()["detail"]}
    assert await stack.messages(alice, conv) == []


BAD_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("empty", {"content": ""}),
    ("blank", {"content": "   \n"}),
    ("too long", {"content": "x" * 10_001}),
    ("unknown field", {"content": "hi", "role": "system"}),
    ("no content", {}),
    ("not a string", {"content": 42}),
]


@pytest.mark.parametrize(("case", "body"), BAD_BODIES, ids=[case for case, _ in BAD_BODIES])
async def test_bad_input_is_refused_and_stores_nothing(
    stack: Stack, agent: Service, case: str, body: dict[str, Any]
) -> None:
    alice = stack.user()
    conv = await stack.new_conversation(alice)

    response = await stack.send(agent, alice, conv, None, body=body)

    assert response.status_code == 422, f"{case}: {response.status_code} {response.text}"
    assert "detail" in response.json()
    assert await stack.messages(alice, conv) == []


async def test_a_malformed_conversation_id_is_refused(stack: Stack, agent: Service) -> None:
    response = await stack.send(agent, stack.user(), "not-a-uuid", "hi")

    assert response.status_code == 422, response.text


@pytest.mark.parametrize("token", ["", "forged"])
async def test_a_missing_or_forged_token_is_401_and_stores_nothing(
    stack: Stack, agent: Service, token: str
) -> None:
    alice = stack.user()
    conv = await stack.new_conversation(alice)
    if token == "forged":  # alice's claims and the trusted kid, signed by another key
        alice_id = jwt.decode(alice, options={"verify_signature": False})["sub"]
        token = testkit_tokens.TestKeys(kid=stack.keys.kid).token(alice_id)
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    response = await stack.http.post(
        f"{agent.url}/api/chat/conversations/{conv}/messages",
        json={"content": "hi"},
        headers=headers,
    )

    assert response.status_code == 401, response.text
    assert await stack.messages(alice, conv) == []
