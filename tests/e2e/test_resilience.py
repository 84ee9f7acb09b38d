"""Services come and go; what was stored stays."""

from __future__ import annotations

from devstack import Stack

from tests.helpers.gateway import GatewayClient


async def test_a_restarted_conversations_service_loses_no_stored_message(
    gateway: GatewayClient, stack: Stack
) -> None:
    user = await gateway.sign_up()
    conversation = await gateway.create_conversation(user)
    assert (await gateway.send(user, conversation["id"], "before")).status_code == 201

    stack.kill("conversations")  # abrupt: no graceful shutdown
    stack.start_process("conversations")

    after = await gateway.send(user, conversation["id"], "after")
    assert after.status_code == 201, after.text
    history = await gateway.messages(user, conversation["id"])
    assert [m["content"] for m in history if m["role"] == "user"] == ["before", "after"]
    assert all(m["status"] == "complete" for m in history)
    assert after.json()["assistant_message"]["content"].endswith("I received 4 messages.")


async def test_protected_routes_answer_503_while_auth_is_down_and_recover(
    gateway: GatewayClient, stack: Stack
) -> None:
    user = await gateway.sign_up()
    stack.kill("auth")
    try:
        down = await gateway.http.get("/api/chat/conversations", headers=user.headers)
        assert down.status_code == 503, down.text
        assert "unavailable" in down.json()["detail"]
    finally:
        stack.start_process("auth")
    back = await gateway.http.get("/api/chat/conversations", headers=user.headers)
    assert back.status_code == 200, back.text
