"""Exports: a conversation as JSON or Markdown, the account as JSON Lines, read in
bounded keyset pages, and only ever the caller's own live conversations."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import orjson
import pytest
from conversations import export
from conversations.api.routes import conversation_public, message_public
from conversations.deps import STATE
from fastapi import FastAPI

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Api, Rpc, User

BASE = "/api/chat/conversations"
TOOL_CALLS = [{"id": "call_1", "name": "lookup", "arguments": '{"q": "```fenced```"}'}]


async def _conversation_with_messages(api: Api, rpc: Rpc, user: User, count: int) -> str:
    conv = await api.create(user, title="Trip to Lisbon: plans & costs")
    for n in range(count):
        role = "user" if n % 2 == 0 else "assistant"
        await rpc.append(user, conv["id"], f"message {n}", role=role)
    return str(conv["id"])


async def _every_message(api: Api, user: User, conversation_id: str) -> list[dict[str, Any]]:
    """The REST message list, all pages, oldest first."""
    page = await api.messages(user, conversation_id, limit=100)
    items: list[dict[str, Any]] = page["items"]
    while page["has_more"]:
        page = await api.messages(user, conversation_id, limit=100, before=items[0]["id"])
        items = page["items"] + items
    return items


async def _export(api: Api, user: User, conversation_id: str, fmt: str) -> Any:
    return await api.get(user, f"{BASE}/{conversation_id}/export", params={"format": fmt})


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


# ------------------------------------------------------------------ one conversation


async def test_json_export_round_trips_the_rest_messages(api: Api, rpc: Rpc, alice: User) -> None:
    conversation_id = await _conversation_with_messages(api, rpc, alice, 5)
    await rpc.append(alice, conversation_id, "", role="assistant", status="failed")

    response = await _export(api, alice, conversation_id, "json")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="trip-to-lisbon-plans-costs-{conversation_id}.json"'
    )
    body = response.json()
    assert body["conversation"] == await api.conversation(alice, conversation_id)
    assert body["messages"] == await _every_message(api, alice, conversation_id)
    assert [m["content"] for m in body["messages"][:5]] == [f"message {n}" for n in range(5)]


async def test_json_export_of_an_empty_conversation(api: Api, alice: User) -> None:
    conv = await api.create(alice)

    response = await _export(api, alice, conv["id"], "json")

    assert response.status_code == 200, response.text
    assert response.json() == {"conversation": conv, "messages": []}
    assert f'filename="conversation-{conv["id"]}.json"' in response.headers["content-disposition"]


async def test_markdown_export_is_readable(api: Api, rpc: Rpc, alice: User) -> None:
    conv = await api.create(alice, title="Weekly\nreport")
    await rpc.append(alice, conv["id"], "What did we ship?")
    await rpc.append(
        alice,
        conv["id"],
        "Let me look.",
        role="assistant",
        status="interrupted",
        tool_calls_json=orjson.dumps(TOOL_CALLS).decode(),
    )

    response = await _export(api, alice, conv["id"], "md")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/markdown")
    assert response.headers["content-disposition"].endswith(f'-{conv["id"]}.md"')
    text = response.text
    assert text.startswith("# Weekly report\n"), text
    messages = (await api.messages(alice, conv["id"]))["items"]
    assert f"## User, {_md_time(messages[0])}\n\nWhat did we ship?\n" in text
    assert f"## Assistant (interrupted), {_md_time(messages[1])}\n\nLet me look.\n" in text
    # The tool call's own triple backticks cannot close its fence.
    assert "\n````json\n" in text and '"name": "lookup"' in text
    assert text.index("What did we ship?") < text.index("Let me look.")


def _md_time(message: dict[str, Any]) -> str:
    return datetime.fromisoformat(message["created_at"]).isoformat()


async def test_a_bad_format_is_422(api: Api, alice: User) -> None:
    conv = await api.create(alice)

    response = await _export(api, alice, conv["id"], "pdf")

    assert response.status_code == 422, response.text


@pytest.mark.parametrize("fmt", ["json", "md"])
async def test_another_users_conversation_is_404(
    api: Api, rpc: Rpc, alice: User, bob: User, fmt: str
) -> None:
    conv = await api.create(alice, title="private")
    await rpc.append(alice, conv["id"], "secret")

    response = await _export(api, bob, conv["id"], fmt)

    assert response.status_code == 404, response.text
    assert "secret" not in response.text and "private" not in response.text


async def test_a_deleted_or_unknown_conversation_is_404(api: Api, alice: User) -> None:
    conv = await api.create(alice)
    await api.request(alice, "DELETE", f"{BASE}/{conv['id']}")

    assert (await _export(api, alice, conv["id"], "json")).status_code == 404
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await _export(api, alice, unknown, "json")).status_code == 404


async def test_export_needs_a_token(api: Api) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await api.get(None, f"{BASE}/{unknown}/export")).status_code == 401
    assert (await api.get(None, "/api/chat/export")).status_code == 401


# ------------------------------------------------------------------ bounded reads


async def test_messages_are_read_in_pages_of_at_most_the_page_size(
    app: FastAPI, api: Api, rpc: Rpc, alice: User
) -> None:
    conversation_id = await _conversation_with_messages(api, rpc, alice, 7)
    pool = STATE.of(app).pool

    pages = [
        page
        async for page in export.message_pages(
            pool, user_id=alice.id, conversation_id=UUID(conversation_id), page_size=3
        )
    ]

    assert [len(page) for page in pages] == [3, 3, 1]
    exported = [message_public(m).model_dump(mode="json") for page in pages for m in page]
    assert exported == await _every_message(api, alice, conversation_id)


async def test_conversations_are_read_in_pages_of_at_most_the_page_size(
    app: FastAPI, api: Api, alice: User
) -> None:
    created = [(await api.create(alice, title=f"c{n}"))["id"] for n in range(5)]
    pool = STATE.of(app).pool

    pages = [page async for page in export.conversation_pages(pool, user_id=alice.id, page_size=2)]

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [c.id for page in pages for c in page] == created


async def test_account_lines_with_more_messages_than_a_page_round_trip(
    app: FastAPI, api: Api, rpc: Rpc, alice: User
) -> None:
    first = await _conversation_with_messages(api, rpc, alice, 5)
    second = await _conversation_with_messages(api, rpc, alice, 2)
    lines = export.account_lines(
        STATE.of(app).pool,
        user_id=alice.id,
        conversation_shape=conversation_public,
        message_shape=message_public,
        page_size=2,
    )

    records = _json_lines(b"".join([chunk async for chunk in lines]).decode())

    assert records == [
        {"type": "conversation", "conversation": await api.conversation(alice, first)},
        *({"type": "message", "message": m} for m in await _every_message(api, alice, first)),
        {"type": "conversation", "conversation": await api.conversation(alice, second)},
        *({"type": "message", "message": m} for m in await _every_message(api, alice, second)),
    ]


# ------------------------------------------------------------------ the account


async def test_account_export_is_json_lines_of_only_the_callers_live_conversations(
    api: Api, rpc: Rpc, alice: User, bob: User
) -> None:
    kept = await _conversation_with_messages(api, rpc, alice, 3)
    deleted = await _conversation_with_messages(api, rpc, alice, 1)
    await api.request(alice, "DELETE", f"{BASE}/{deleted}")
    bobs = await api.create(bob, title="bob's secret")
    await rpc.append(bob, bobs["id"], "bob's message")

    response = await api.get(alice, "/api/chat/export")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.headers["content-disposition"].startswith('attachment; filename="chat-export-')
    assert response.headers["content-disposition"].endswith('.jsonl"')
    # Asks nginx to pass the stream on as it comes instead of spooling it to disk.
    assert response.headers["x-accel-buffering"] == "no"
    assert response.headers["cache-control"] == "no-store"
    records = _json_lines(response.text)
    assert [r["conversation"]["id"] for r in records if r["type"] == "conversation"] == [kept]
    messages = [r["message"] for r in records if r["type"] == "message"]
    assert messages == await _every_message(api, alice, kept)
    assert "bob" not in response.text


async def test_account_export_of_a_new_user_is_empty(api: Api, alice: User) -> None:
    response = await api.get(alice, "/api/chat/export")

    assert response.status_code == 200, response.text
    assert response.text == ""


def test_slug_keeps_file_names_plain() -> None:
    assert export.slug("Trip to Lisbon: plans & costs") == "trip-to-lisbon-plans-costs"
    assert export.slug("../../etc/passwd") == "etc-passwd"
    assert export.slug('a "quoted"\r\ntitle') == "a-quoted-title"
    assert export.slug("日本語") == "conversation"
    assert export.slug(None) == "conversation"
    assert len(export.slug("x" * 500)) == 60
