"""Body-size and rate limits: JSON errors with CORS headers, Retry-After on 429."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

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


# ---- issue 10: every authenticated request, the session routes and open connections


@pytest.fixture(scope="module")
def per_user_gateway_url(stack: Stack) -> Iterator[str]:
    """Small per-user and per-address limits for reads, refresh/logout and connections."""
    with stack.extra_gateway(
        gateway_env={
            "CHAT_RATE_LIMIT": "2r/m",
            "CHAT_RATE_BURST": "3",
            "SESSION_RATE_LIMIT": "2r/m",
            "SESSION_RATE_BURST": "2",
        }
    ) as url:
        yield url


def assert_gateway_429(response: httpx.Response, retry_after: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == retry_after
    assert response.json() == {"detail": "Too many requests: wait and retry"}
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


async def test_a_flood_of_reads_from_one_user_gets_429(
    gateway: GatewayClient, per_user_gateway_url: str
) -> None:
    alice, bob = await gateway.sign_up(), await gateway.sign_up()
    async with GatewayClient(per_user_gateway_url) as strict:

        async def listing(user: User) -> httpx.Response:
            return await strict.http.get(
                "/api/chat/conversations", headers={**user.headers, "Origin": ALLOWED_ORIGIN}
            )

        first = [(await listing(alice)).status_code for _ in range(4)]
        limited = await listing(alice)
        other_user = await listing(bob)
        me = await strict.http.get("/api/auth/me", headers=alice.headers)
    assert first == [200, 200, 200, 200], "burst 3: four pass (one at the rate, three over)"
    assert_gateway_429(limited, "30")
    assert other_user.status_code == 200, "one user's reads must not limit another's"
    assert me.status_code == 429, "authenticated auth routes share the per-user budget"


async def test_a_refresh_flood_from_one_address_gets_429(
    gateway: GatewayClient, per_user_gateway_url: str
) -> None:
    user = await gateway.sign_up()
    async with GatewayClient(per_user_gateway_url) as strict:
        statuses = []
        for _ in range(4):
            response = await strict.http.post(
                "/api/auth/refresh",
                json={"refresh_token": "not-a-real-token"},
                headers={"Origin": ALLOWED_ORIGIN},
            )
            statuses.append(response.status_code)
        logout = await strict.http.post(
            "/api/auth/logout", json={"refresh_token": user.refresh_token}
        )
    assert statuses[:3] == [401, 401, 401], statuses
    assert_gateway_429(response, "30")
    assert logout.status_code == 429, "logout shares the per-address session budget"


@contextlib.asynccontextmanager
async def open_stream(client: GatewayClient, user: User) -> AsyncIterator[httpx.Response]:
    """A turn whose slow reply keeps the request in progress until the block ends."""
    conversation = await client.create_conversation(user)
    async with client.http.stream(
        "POST",
        f"/api/chat/conversations/{conversation['id']}/messages",
        json={"content": "Take your time [[slow:2]] [[words:40]]"},
        headers={**user.headers, "Accept": "text/event-stream"},
    ) as response:
        assert response.status_code == 200, await response.aread()
        yield response


async def test_open_streams_beyond_the_per_user_limit_get_429(
    gateway: GatewayClient, stack: Stack
) -> None:
    alice, bob = await gateway.sign_up(), await gateway.sign_up()
    with stack.extra_gateway(gateway_env={"CONN_PER_USER": "1"}) as url:
        async with GatewayClient(url) as strict, open_stream(strict, alice):
            limited = await strict.http.get(
                "/api/chat/conversations", headers={**alice.headers, "Origin": ALLOWED_ORIGIN}
            )
            other_user = await strict.http.get("/api/chat/conversations", headers=bob.headers)
        async with GatewayClient(url) as strict:
            after = await strict.http.get("/api/chat/conversations", headers=alice.headers)
    assert_gateway_429(limited, "1")
    assert other_user.status_code == 200
    assert after.status_code == 200, "the slot is free again once the stream is closed"


async def test_open_streams_beyond_the_per_address_limit_get_429(
    gateway: GatewayClient, stack: Stack
) -> None:
    alice, bob = await gateway.sign_up(), await gateway.sign_up()
    with stack.extra_gateway(gateway_env={"CONN_PER_ADDRESS": "2"}) as url:
        async with (
            GatewayClient(url) as strict,
            open_stream(strict, alice),
            open_stream(strict, bob),
        ):
            page = await strict.http.get("/", headers={"Origin": ALLOWED_ORIGIN})
            refresh = await strict.http.post(
                "/api/auth/refresh", json={"refresh_token": alice.refresh_token}
            )
    assert_gateway_429(page, "1")
    assert refresh.status_code == 429
