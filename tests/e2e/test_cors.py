"""CORS lives only in the gateway: an allow-list, origins echoed with credentials."""

from __future__ import annotations

from tests.conftest import ALLOWED_ORIGIN, OTHER_ALLOWED_ORIGIN
from tests.helpers.gateway import GatewayClient

REFUSED_ORIGIN = "https://evil.example.com"


def _preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_an_allowed_origin_is_echoed_with_credentials(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    response = await gateway.http.get(
        "/api/chat/conversations", headers={**user.headers, "Origin": OTHER_ALLOWED_ORIGIN}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == OTHER_ALLOWED_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "Origin" in response.headers["vary"]
    assert "X-Request-ID" in response.headers["access-control-expose-headers"]


async def test_a_refused_origin_gets_no_cors_headers(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    response = await gateway.http.get(
        "/api/chat/conversations", headers={**user.headers, "Origin": REFUSED_ORIGIN}
    )
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers
    assert "Origin" in response.headers["vary"]


async def test_an_origin_that_merely_contains_an_allowed_one_is_refused(
    gateway: GatewayClient,
) -> None:
    for origin in (ALLOWED_ORIGIN + ".evil.com", "http://localhost:30000", "http://localhost"):
        response = await gateway.http.get("/healthz", headers={"Origin": origin})
        assert "access-control-allow-origin" not in response.headers, origin


async def test_preflight_of_an_allowed_origin_is_answered_before_auth(
    gateway: GatewayClient,
) -> None:
    response = await gateway.http.options(
        "/api/chat/conversations/x/messages", headers=_preflight(ALLOWED_ORIGIN)
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert int(response.headers["access-control-max-age"]) > 0


async def test_preflight_of_a_refused_origin_is_403_without_cors_headers(
    gateway: GatewayClient,
) -> None:
    response = await gateway.http.options(
        "/api/chat/conversations", headers=_preflight(REFUSED_ORIGIN)
    )
    assert response.status_code == 403
    assert response.json()["detail"]
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-methods" not in response.headers


async def test_a_401_carries_cors_headers_and_a_json_body(gateway: GatewayClient) -> None:
    response = await gateway.http.get("/api/chat/conversations", headers={"Origin": ALLOWED_ORIGIN})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["detail"]
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
