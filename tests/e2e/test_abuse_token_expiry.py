"""A reply outlives the user's access token: once the turn started on a valid token, its
writes do not depend on that token any more (the agent writes with its own service identity).

The review's case is a 30 s token and a 40 s reply. 30 s is the shortest ACCESS_TOKEN_TTL_SECONDS
auth accepts, and with JWT_LEEWAY_SECONDS=0 everywhere a reply of about 35 s ends past the
token's `exp` with no grace: every flush after it, and the final write, would have been
refused on the user's token. Both kinds of client run at once, so the module costs one wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from chat_testkit.plugin import DatabaseFactory
from devstack import Stack

from tests.helpers.gateway import PASSWORD, GatewayClient, Stream, User
from tests.helpers.stacks import own_stack

TOKEN_TTL_SECONDS = 30  # the shortest access-token lifetime auth allows
# The offline model's reply: 11 words of echo plus 60 more, at 2 a second: about 35 s.
OUTLIVES_THE_TOKEN = "outlive my token [[slow:2]] [[words:60]]"
REPLY_SECONDS = 36
pytestmark = pytest.mark.timeout(120 + REPLY_SECONDS)


@dataclass
class Turns:
    """The two turns sent together on one token, and what was stored for each."""

    token_expires_at: float
    ended_at: float
    stream: Stream
    answer: httpx.Response
    streamed_messages: list[dict[str, Any]]
    answered_messages: list[dict[str, Any]]


@pytest.fixture(scope="module")
def expiry_stack(
    make_database: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with own_stack(
        "token-expiry",
        make_database,
        tmp_path_factory,
        env={"JWT_LEEWAY_SECONDS": "0"},
        service_env={"auth": {"ACCESS_TOKEN_TTL_SECONDS": str(TOKEN_TTL_SECONDS)}},
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def turns(expiry_stack: Stack) -> Turns:
    async with GatewayClient(expiry_stack.gateway_url) as gateway:
        user = await gateway.sign_up()
        streamed = (await gateway.create_conversation(user))["id"]
        answered = (await gateway.create_conversation(user))["id"]
        stream, answer = await asyncio.gather(
            gateway.stream(user, streamed, OUTLIVES_THE_TOKEN),
            _send_json(gateway, user, answered),
        )
        ended_at = time.time()
        fresh = await _log_in_again(gateway, user)
        return Turns(
            token_expires_at=_expiry(user.access_token),
            ended_at=ended_at,
            stream=stream,
            answer=answer,
            streamed_messages=await gateway.messages(fresh, streamed),
            answered_messages=await gateway.messages(fresh, answered),
        )


async def _send_json(gateway: GatewayClient, user: User, conversation_id: str) -> httpx.Response:
    """One JSON turn; the answer comes only when the reply is whole (past the default timeout)."""
    return await gateway.http.post(
        f"/api/chat/conversations/{conversation_id}/messages",
        json={"content": OUTLIVES_THE_TOKEN},
        headers={**user.headers, "Accept": "application/json"},
        timeout=REPLY_SECONDS * 2,
    )


async def _log_in_again(gateway: GatewayClient, user: User) -> User:
    """The user with a new access token: the turns' one has expired by now."""
    login = await gateway.http.post(
        "/api/auth/login", json={"email": user.email, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    return User(user.id, user.email, login.json()["access_token"], user.refresh_token)


def _expiry(token: str) -> float:
    claims = jwt.decode(token, options={"verify_signature": False})
    return float(claims["exp"])


def test_the_turns_really_outlived_the_token(turns: Turns) -> None:
    assert turns.ended_at > turns.token_expires_at + 1, "the replies ended before the token did"


def test_a_streamed_reply_past_expiry_is_stored_complete_as_streamed(turns: Turns) -> None:
    assert turns.stream.status_code == 200
    final = turns.stream.events[-1]
    assert final.event == "assistant_message", [e.event for e in turns.stream.events[-3:]]
    streamed = "".join(delta.data["text"] for delta in turns.stream.named("delta"))
    stored = turns.streamed_messages[-1]
    assert (final.data["status"], stored["status"]) == ("complete", "complete")
    assert stored["content"] == streamed == final.data["content"]


def test_a_json_client_gets_its_reply_past_expiry_not_a_401(turns: Turns) -> None:
    assert turns.answer.status_code == 201, turns.answer.text
    reply = turns.answer.json()["assistant_message"]
    stored = turns.answered_messages[-1]
    assert (reply["status"], stored["status"]) == ("complete", "complete")
    assert stored["content"] == reply["content"]
    assert reply["content"].endswith(" w60")
