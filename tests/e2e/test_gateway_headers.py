"""The gateway's own answers: security headers on the chat page, client addresses that a
client cannot forge, and service-to-service routes that are never routed."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from devstack import Stack
from devstack.gateway import NO_LIMITS, GatewaySettings, load_defaults, nginx_process
from devstack.processes import free_port

from tests.conftest import ALLOWED_ORIGIN
from tests.helpers.gateway import GatewayClient

INDEX = Path(__file__).resolve().parents[2] / "gateway" / "static" / "index.html"


def meta_policy() -> str:
    match = re.search(
        r'http-equiv="Content-Security-Policy"\s+content="([^"]+)"', INDEX.read_text()
    )
    assert match, "index.html has no CSP meta tag"
    return match[1]


@pytest.mark.parametrize("path", ["/", "/app.js", "/styles.css"])
async def test_the_chat_page_carries_the_security_headers(
    gateway: GatewayClient, path: str
) -> None:
    response = await gateway.http.get(path)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert policy == f"{meta_policy()}; frame-ancestors 'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in response.headers, "no TLS in development"


async def test_hsts_is_sent_when_configured(stack: Stack) -> None:
    with stack.extra_gateway(gateway_env={"HSTS_MAX_AGE": "600"}) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            page = await client.get("/")
            error = await client.get("/api/chat/conversations")
    for response in (page, error):
        assert response.headers["strict-transport-security"] == "max-age=600; includeSubDomains"


async def test_internal_routes_are_not_routed(gateway: GatewayClient) -> None:
    for path in ("/internal/token", "/internal/", "/api/auth/../internal/token"):
        response = await gateway.http.post(path, data={"grant_type": "client_credentials"})
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not found"}


async def refresh_statuses(url: str, forwarded_for: list[str]) -> list[int]:
    async with httpx.AsyncClient(base_url=url) as client:
        return [
            (
                await client.post(
                    "/api/auth/refresh",
                    json={"refresh_token": "not-a-real-token"},
                    headers={"X-Forwarded-For": address, "Origin": ALLOWED_ORIGIN},
                )
            ).status_code
            for address in forwarded_for
        ]


async def test_a_forged_x_forwarded_for_does_not_escape_the_per_address_limit(
    stack: Stack,
) -> None:
    tight = {"SESSION_RATE_LIMIT": "2r/m", "SESSION_RATE_BURST": "1"}
    with stack.extra_gateway(gateway_env=tight) as url:
        statuses = await refresh_statuses(url, ["1.1.1.1", "2.2.2.2", "3.3.3.3"])
    assert statuses == [401, 401, 429]


async def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(stack: Stack) -> None:
    tight = {"SESSION_RATE_LIMIT": "2r/m", "SESSION_RATE_BURST": "1", "REAL_IP_FROM": "127.0.0.1"}
    with stack.extra_gateway(gateway_env=tight) as url:
        statuses = await refresh_statuses(
            url, ["1.1.1.1", "1.1.1.1", "1.1.1.1", "2.2.2.2", "6.6.6.6, 2.2.2.2"]
        )
    # The proxy appends the real client last: "6.6.6.6, 2.2.2.2" is client 2.2.2.2.
    assert statuses == [401, 401, 429, 401, 401]


class _Echo(BaseHTTPRequestHandler):
    """An upstream that answers every request with the headers it was sent."""

    def _answer(self) -> None:
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def echo_gateway(stack: Stack) -> Iterator[str]:
    """nginx with our template in front of an echo server (every upstream is the echo)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    upstream = f"127.0.0.1:{server.server_address[1]}"
    config = stack.config
    settings = GatewaySettings(
        port=free_port(),  # picked: nginx cannot report a port it bound
        auth=upstream,
        conversations=upstream,
        agents=(upstream,),
        static_root=config.repo_root / "gateway" / "static",
        settings=load_defaults(config.repo_root) | NO_LIMITS,
    )
    name = f"gateway-echo-{settings.port}"
    process = nginx_process(
        name,
        settings,
        repo_root=config.repo_root,
        workdir=config.data_path / "nginx" / name,
        log_path=stack.log_path(name),
        echo=False,
    ).start()
    try:
        process.wait_ready(30.0)
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        process.stop()
        server.shutdown()


async def test_services_get_the_real_client_address_not_the_clients_claim(
    echo_gateway: str,
) -> None:
    async with httpx.AsyncClient(base_url=echo_gateway) as client:
        response = await client.post(
            "/api/auth/login",
            json={},
            headers={"X-Forwarded-For": "6.6.6.6", "X-Real-IP": "6.6.6.6"},
        )
    seen = response.json()
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-real-ip"] == "127.0.0.1"
