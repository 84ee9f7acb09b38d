"""Search through the gateway: a word sent a moment ago is found, highlighted, by its owner
only, and no longer once its conversation is deleted."""

from __future__ import annotations

import uuid
from typing import Any

from tests.helpers.gateway import GatewayClient, User

MARKED = "\x02{}\x03"  # how a snippet marks a match


async def _search(gateway: GatewayClient, user: User, q: str) -> list[dict[str, Any]]:
    response = await gateway.http.get("/api/chat/search", params={"q": q}, headers=user.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_sent_word_is_found_by_its_owner_only(gateway: GatewayClient) -> None:
    alice, bob = await gateway.sign_up(), await gateway.sign_up()
    needle = "zq" + uuid.uuid4().hex[:12]
    conversation = await gateway.create_conversation(alice, title="Search through the gateway")
    sent = await gateway.send(alice, conversation["id"], f"remember {needle} please")
    assert sent.status_code == 201, sent.text
    user_message = sent.json()["user_message"]

    hits = await _search(gateway, alice, needle)

    # (the offline model's reply may quote the word: it is a hit too)
    (mine,) = [h for h in hits if h["message_id"] == user_message["id"]]
    assert mine["role"] == "user" and MARKED.format(needle) in mine["snippet"]
    assert {h["conversation_id"] for h in hits} == {conversation["id"]}
    assert await _search(gateway, bob, needle) == []


async def test_a_deleted_conversation_is_not_found(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    needle = "zq" + uuid.uuid4().hex[:12]
    conversation = await gateway.create_conversation(user, title=f"About {needle}")
    assert [h["role"] for h in await _search(gateway, user, needle)] == ["title"]

    deleted = await gateway.http.delete(
        f"/api/chat/conversations/{conversation['id']}", headers=user.headers
    )
    assert deleted.status_code == 204

    assert await _search(gateway, user, needle) == []


async def test_bad_input_is_422_and_no_token_401(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    too_long = await gateway.http.get(
        "/api/chat/search", params={"q": "x" * 201}, headers=user.headers
    )
    anonymous = await gateway.http.get("/api/chat/search", params={"q": "x"})

    assert too_long.status_code == 422 and too_long.json()["detail"]
    assert anonymous.status_code == 401
