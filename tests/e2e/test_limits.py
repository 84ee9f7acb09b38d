"""Body-size and rate limits: JSON errors with CORS headers, Retry-After on 429."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from devstack import RateLimit, Stack

from tests.conftest import ALLOWED_ORIGIN
from tests.helpers.gateway import PASSWORD, GatewayClient, User


@pytest.fixture(scope="module")
def strict_gateway_url(stack: Stack) -> Iterator[str]:
    """A second nginx in front of the same services, with tiny limits."""
    with stack.extra_gateway(
        auth_rate=RateLimit("2r/m", burst=2),
        send_rate=RateLimit("2r/m", burst=1),
        chatkit_rate=RateLimit("2r/m", burst=1),
    ) as url:
        yield url


async def test_a_body_over_1_mib_is_413_json_with_cors_headers(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    conversation = await gateway.create_conversation(user)
    response = await gateway.http.post(
        f"/api/chat/conversations/{conversation['id']}/messages",
        content=b'{"content": "' + b"x" * (1024 * 1024 + 1) + b'"}',
        headers={**user.headers, "Origin": ALLOWED_ORIGIN, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "1 MiB" in response.json()["detail"]
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert await gateway.messages(user, conversation["id"]) == []


async def test_sign_ups_over_the_limit_get_429_with_retry_after(
    strict_gateway_url: str,
) -> None:
    async with GatewayClient(strict_gateway_url) as strict:
        statuses = []
        for i in range(4):
            response = await strict.http.post(
                "/api/auth/register",
                json={"email": f"flood-{i}-{id(strict)}@example.com", "password": PASSWORD},
                headers={"Origin": ALLOWED_ORIGIN},
            )
            statuses.append(response.status_code)
        assert statuses[:2] == [201, 201]
        assert response.status_code == 429, statuses
        assert int(response.headers["retry-after"]) >= 1
        assert response.json()["detail"]
        assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


async def test_sends_are_limited_per_user(gateway: GatewayClient, strict_gateway_url: str) -> None:
    alice, bob = await gateway.sign_up(), await gateway.sign_up()
    alices = await gateway.create_conversation(alice)
    bobs = await gateway.create_conversation(bob)
    async with GatewayClient(strict_gateway_url) as strict:
        first = [(await strict.send(alice, alices["id"], f"hi {i}")).status_code for i in range(2)]
        limited = await strict.send(alice, alices["id"], "one too many")
        other_user = await strict.send(bob, bobs["id"], "hi")
    assert first == [201, 201]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["detail"]
    assert other_user.status_code == 201, "one user's sends must not limit another's"


async def test_chatkit_requests_are_limited_per_user(
    gateway: GatewayClient, strict_gateway_url: str
) -> None:
    alice, bob = await gateway.sign_up(), await gateway.sign_up()
    threads_list = {"type": "threads.list", "params": {}}

    async def chatkit(client: GatewayClient, user: User) -> httpx.Response:
        return await client.http.post(
            "/chatkit", json=threads_list, headers={**user.headers, "Origin": ALLOWED_ORIGIN}
        )

    async with GatewayClient(strict_gateway_url) as strict:
        first = [(await chatkit(strict, alice)).status_code for _ in range(2)]
        limited = await chatkit(strict, alice)
        other_user = await chatkit(strict, bob)
    assert first == [200, 200]
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "30"  # 2r/m: a request every 30 s
    assert limited.json()["detail"]
    assert limited.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert other_user.status_code == 200, "one user's ChatKit calls must not limit another's"


async def test_a_login_throttled_by_auth_keeps_its_single_retry_after(
    gateway: GatewayClient,
) -> None:
    user = await gateway.sign_up()
    wrong = {"email": user.email, "password": "not the password"}
    for _ in range(10):
        response = await gateway.http.post(
            "/api/auth/login", json=wrong, headers={"Origin": ALLOWED_ORIGIN}
        )
        if response.status_code == 429:
            break
        assert response.status_code == 401, response.text
    assert response.status_code == 429, "auth never throttled the account"
    assert len(response.headers.get_list("retry-after")) == 1
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
