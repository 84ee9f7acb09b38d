"""A turn's writes do not depend on the user's token: the agent verifies it when the
turn begins and writes the reply under its own service identity, so a reply that
outlives the token is stored whole and final."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.agent.tests.conftest import Service, Stack

# 24 words at 4 words a second: the reply takes ~6 s, the token lives 2 s (+1 s leeway).
SLOW_REPLY = "outlive my token [[slow:4]] [[words:15]]"
TOKEN_SECONDS = 2


async def test_a_reply_that_outlives_the_users_token_ends_complete_with_its_text(
    stack: Stack, agent: Service
) -> None:
    user_id = uuid.uuid4()
    conversation = await stack.new_conversation(stack.keys.token(user_id))
    short_lived = stack.keys.token(user_id, ttl=TOKEN_SECONDS)

    events = await stack.sse_turn(agent, short_lived, conversation, SLOW_REPLY)

    streamed = "".join(e.data["text"] for e in events if e.event == "delta")
    final = events[-1].data
    assert (events[-1].event, final["status"]) == ("assistant_message", "complete"), events[-1]
    assert final["content"] == streamed
    await asyncio.sleep(0.5)
    stored = await stack.messages(stack.keys.token(user_id), conversation)
    assert [(m["role"], m["status"]) for m in stored] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert stored[-1]["content"] == streamed


async def test_a_json_turn_that_outlives_the_users_token_answers_201(
    stack: Stack, agent: Service
) -> None:
    user_id = uuid.uuid4()
    conversation = await stack.new_conversation(stack.keys.token(user_id))

    response = await stack.send(
        agent, stack.keys.token(user_id, ttl=TOKEN_SECONDS), conversation, SLOW_REPLY
    )

    assert response.status_code == 201, response.text
    reply = response.json()["assistant_message"]
    assert reply["status"] == "complete" and reply["content"].endswith("w15")
