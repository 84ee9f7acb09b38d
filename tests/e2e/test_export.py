"""Exports through the gateway: a conversation as JSON or Markdown, the account as JSON
Lines, passed on as a stream, and only the caller's own."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers.gateway import GatewayClient, User

# Larger than nginx's in-memory proxy buffers (8 x 4 KiB).
LONG_TEXT = "word " * 1_900


async def _conversation_with_turns(gateway: GatewayClient, user: User, texts: list[str]) -> str:
    conversation = await gateway.create_conversation(user, title="Export me")
    for text in texts:
        response = await gateway.send(user, conversation["id"], text)
        assert response.status_code == 201, response.text
    return str(conversation["id"])


async def test_a_json_export_round_trips_the_message_list(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    conversation_id = await _conversation_with_turns(gateway, user, ["one", "two", "three"])

    response = await gateway.http.get(
        f"/api/chat/conversations/{conversation_id}/export",
        params={"format": "json"},
        headers=user.headers,
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == (
        f'attachment; filename="export-me-{conversation_id}.json"'
    )
    body = response.json()
    assert body["conversation"]["id"] == conversation_id
    assert body["messages"] == await gateway.messages(user, conversation_id)
    assert [m["role"] for m in body["messages"]] == ["user", "assistant"] * 3


async def test_a_markdown_export_reads_in_order(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    conversation_id = await _conversation_with_turns(gateway, user, ["first", "second"])

    response = await gateway.http.get(
        f"/api/chat/conversations/{conversation_id}/export",
        params={"format": "md"},
        headers=user.headers,
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/markdown")
    text = response.text
    assert text.startswith("# Export me\n")
    assert text.index("\nfirst\n") < text.index("\nsecond\n")
    assert text.count("\n## User, ") == 2 and text.count("\n## Assistant, ") == 2


async def test_another_users_export_is_404(gateway: GatewayClient) -> None:
    alice, bob = await gateway.sign_up(), await gateway.sign_up()
    conversation_id = await _conversation_with_turns(gateway, alice, ["alice's secret"])

    response = await gateway.http.get(
        f"/api/chat/conversations/{conversation_id}/export", headers=bob.headers
    )
    account = await gateway.http.get("/api/chat/export", headers=bob.headers)

    assert response.status_code == 404, response.text
    assert account.status_code == 200 and account.text == ""


async def test_the_account_export_streams_through_the_gateway(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    first = await _conversation_with_turns(gateway, user, [LONG_TEXT] * 4)
    second = await _conversation_with_turns(gateway, user, ["short"])

    chunks: list[bytes] = []
    async with gateway.http.stream("GET", "/api/chat/export", headers=user.headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        assert response.headers["content-disposition"].endswith('.jsonl"')
        # The service's request not to buffer is for nginx alone, never passed on.
        assert "x-accel-buffering" not in response.headers
        chunks = [chunk async for chunk in response.aiter_bytes()]

    records = [json.loads(line) for line in b"".join(chunks).decode().splitlines()]
    assert _messages_by_conversation(records) == {
        first: await gateway.messages(user, first),
        second: await gateway.messages(user, second),
    }


def _messages_by_conversation(records: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Each conversation line followed by its message lines, as {id: [Message...]}."""
    grouped: dict[str, list[Any]] = {}
    current = ""
    for record in records:
        if record["type"] == "conversation":
            current = record["conversation"]["id"]
            grouped[current] = []
        else:
            assert record["message"]["conversation_id"] == current
            grouped[current].append(record["message"])
    return grouped
