"""What the gateway lets in: tokens checked, identities not forgeable, internals hidden."""

from __future__ import annotations

import uuid

import pytest
from devstack import Stack

from tests.helpers.gateway import GatewayClient
from tests.helpers.logs import log_line


async def test_healthz_answers_json(gateway: GatewayClient) -> None:
    response = await gateway.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_the_chat_page_is_served_at_the_root(gateway: GatewayClient) -> None:
    response = await gateway.http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "path",
    ["/api/chat/conversations", "/api/auth/me", "/chatkit"],
)
async def test_protected_routes_without_a_token_are_401_json(
    gateway: GatewayClient, path: str
) -> None:
    method = "POST" if path == "/chatkit" else "GET"
    response = await gateway.http.request(method, path)
    assert response.status_code == 401
    assert response.json()["detail"]


async def test_a_forged_token_is_401(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    header, payload, _signature = user.access_token.split(".")
    forged = f"{header}.{payload}.{'A' * 86}"
    response = await gateway.http.get(
        "/api/chat/conversations", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401


async def test_a_forged_x_user_id_is_replaced_by_the_verified_one(
    gateway: GatewayClient, stack: Stack
) -> None:
    alice, bob = await gateway.sign_up(), await gateway.sign_up()
    bobs = await gateway.create_conversation(bob, title="bob's secret")
    request_id = f"forge-{uuid.uuid4().hex}"
    response = await gateway.http.get(
        "/api/chat/conversations",
        headers={**alice.headers, "X-User-Id": bob.id, "X-Request-ID": request_id},
    )
    assert response.status_code == 200
    assert bobs["id"] not in [c["id"] for c in response.json()["items"]]
    access_line = await log_line(stack, "gateway", request_id)
    assert f"user={alice.id}" in access_line, access_line
    without_token = await gateway.http.get("/api/chat/conversations", headers={"X-User-Id": bob.id})
    assert without_token.status_code == 401


@pytest.mark.parametrize(
    "path",
    ["/verify", "/readyz", "/metrics", "/openapi.json", "/docs", "/_gateway/verify"],
)
async def test_internal_routes_are_not_reachable(gateway: GatewayClient, path: str) -> None:
    response = await gateway.http.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found"}


async def test_grpc_is_not_reachable_through_the_gateway(gateway: GatewayClient) -> None:
    response = await gateway.http.post(
        "/chat.conversations.v1.ConversationsService/ListConversations",
        headers={"Content-Type": "application/grpc"},
    )
    assert response.status_code == 404


async def test_another_users_conversation_is_not_found_through_the_gateway(
    gateway: GatewayClient,
) -> None:
    alice, bob = await gateway.sign_up(), await gateway.sign_up()
    conversation = await gateway.create_conversation(alice, title="private")
    path = f"/api/chat/conversations/{conversation['id']}"
    assert (await gateway.http.get(path, headers=bob.headers)).status_code == 404
    assert (await gateway.http.get(f"{path}/messages", headers=bob.headers)).status_code == 404
    assert (await gateway.send(bob, conversation["id"], "let me in")).status_code == 404
    listed = (await gateway.http.get("/api/chat/conversations", headers=bob.headers)).json()
    assert conversation["id"] not in [c["id"] for c in listed["items"]]
    assert await gateway.messages(alice, conversation["id"]) == []
