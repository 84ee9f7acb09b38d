"""The shared verifier: user and service tokens never pass as each other, and JWKS
refreshes never hold up tokens signed by keys it already knows."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from chat_common.errors import Unauthenticated
from chat_common.settings import trusted_jwks_url
from chat_common.tokens import CachingVerifier, TokenVerifier
from chat_testkit.tokens import AUDIENCE, ISSUER
from chat_testkit.tokens import TestKeys as SigningKeys

SERVICE_AUDIENCE = "chat-internal"


@dataclass
class JwksServer:
    """A real HTTP server on loopback serving a JWKS, whose answers can be delayed."""

    keys: SigningKeys
    delay: float = 0.0
    requests: int = 0
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        self.requests += 1
        await asyncio.sleep(self.delay)
        body = self.keys.jwks().encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        writer.close()


@pytest.fixture
async def jwks_server() -> AsyncIterator[JwksServer]:
    server = JwksServer(SigningKeys())
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    server.url = f"http://127.0.0.1:{port}/.well-known/jwks.json"
    yield server
    listener.close()


def verifier(url: str | None = None, jwks: str | None = None, **options: float) -> TokenVerifier:
    return TokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        algorithms=["EdDSA"],
        jwks_url=url,
        jwks=jwks,
        service_audience=SERVICE_AUDIENCE,
        **options,
    )


def service_token(keys: SigningKeys, **claims: Any) -> str:
    return keys.token(
        "agent", aud=SERVICE_AUDIENCE, client_id="agent", scope="conversations:agent", **claims
    )


async def test_a_service_token_verifies_as_a_service_with_its_scopes() -> None:
    keys = SigningKeys()
    verified = await verifier(jwks=keys.jwks()).verify_service(service_token(keys))
    assert verified.client_id == "agent"
    assert verified.scopes == {"conversations:agent"}


async def test_a_service_token_is_never_a_user_token() -> None:
    keys = SigningKeys()
    with pytest.raises(Unauthenticated):
        await verifier(jwks=keys.jwks()).verify(service_token(keys, sub=str(uuid.uuid4())))


async def test_a_user_token_is_never_a_service_token() -> None:
    keys = SigningKeys()
    with pytest.raises(Unauthenticated):
        await verifier(jwks=keys.jwks()).verify_service(keys.token(uuid.uuid4()))


async def test_the_cache_keeps_token_kinds_apart() -> None:
    keys = SigningKeys()
    cached = CachingVerifier(verifier(jwks=keys.jwks()))
    token = service_token(keys)
    await cached.verify_service(token)
    with pytest.raises(Unauthenticated):
        await cached.verify(token)


def test_the_service_audience_must_differ_from_the_users() -> None:
    with pytest.raises(ValueError, match="audience of their own"):
        TokenVerifier(
            issuer=ISSUER,
            audience=AUDIENCE,
            algorithms=["EdDSA"],
            jwks="{}",
            service_audience=AUDIENCE,
        )


async def test_known_keys_verify_at_once_while_a_slow_refresh_runs(
    jwks_server: JwksServer,
) -> None:
    tokens = verifier(jwks_server.url, cache_ttl=0.05, refetch_interval=0.0, fetch_timeout=5.0)
    token = jwks_server.keys.token(uuid.uuid4())
    await tokens.verify(token)  # first fetch
    await asyncio.sleep(0.1)  # the keys are now past cache_ttl
    jwks_server.delay = 1.0
    started = time.monotonic()
    await tokens.verify(token)
    assert time.monotonic() - started < 0.5, "a stale known key waited for the JWKS fetch"
    await asyncio.sleep(1.2)
    assert jwks_server.requests == 2, "the stale keys were not revalidated in the background"


async def test_an_unknown_kid_waits_for_a_fetch(jwks_server: JwksServer) -> None:
    tokens = verifier(jwks_server.url, refetch_interval=0.0)
    await tokens.verify(jwks_server.keys.token(uuid.uuid4()))
    jwks_server.keys = SigningKeys()  # a rotation: the new key is only in the next fetch
    await tokens.verify(jwks_server.keys.token(uuid.uuid4()))
    assert jwks_server.requests == 2


async def test_keys_past_max_stale_are_not_trusted_when_auth_is_gone(
    jwks_server: JwksServer,
) -> None:
    tokens = verifier(jwks_server.url, cache_ttl=0.01, max_stale=0.2, refetch_interval=0.0)
    token = jwks_server.keys.token(uuid.uuid4())
    await tokens.verify(token)
    tokens._jwks_url = "http://127.0.0.1:9/gone"  # auth unreachable from now on
    await asyncio.sleep(0.3)
    with pytest.raises(Unauthenticated):
        await tokens.verify(token)


@pytest.mark.parametrize(
    ("url", "trusted"),
    [
        ("https://auth.example.com/.well-known/jwks.json", True),
        ("http://auth:8001/.well-known/jwks.json", True),
        ("http://auth.default.svc.cluster.local:8001/jwks", True),
        ("http://127.0.0.1:8001/.well-known/jwks.json", True),
        ("http://auth.example.com/.well-known/jwks.json", False),
        ("ftp://auth/jwks", False),
    ],
)
def test_production_fetches_keys_over_a_trusted_path_only(url: str, trusted: bool) -> None:
    assert trusted_jwks_url(url) is trusted
