"""The REST routes: shapes, ordering, paging, renames and soft delete."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Api, Rpc, User

BASE = "/api/chat/conversations"


async def test_create_answers_201_with_the_conversation_shape(api: Api, alice: User) -> None:
    body = await api.create(alice, title="Trip plans")

    assert set(body) == {"id", "title", "created_at", "updated_at"}
    assert body["title"] == "Trip plans"
    assert body["created_at"].endswith("Z"), "times are ISO 8601 UTC"
    assert body["created_at"] == body["updated_at"]


async def test_create_without_a_body_has_a_null_title(api: Api, alice: User) -> None:
    response = await api.request(alice, "POST", BASE)

    assert response.status_code == 201, response.text
    assert response.json()["title"] is None


async def test_get_returns_the_stored_conversation(api: Api, alice: User) -> None:
    created = await api.create(alice, title="hello")

    assert await api.conversation(alice, created["id"]) == created


async def test_list_is_newest_first_and_pages_with_a_cursor(api: Api, alice: User) -> None:
    ids = [(await api.create(alice, title=f"c{i}"))["id"] for i in range(5)]

    first = (await api.get(alice, BASE, params={"limit": 2})).json()
    second = (
        await api.get(alice, BASE, params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    third = (
        await api.get(alice, BASE, params={"limit": 2, "cursor": second["next_cursor"]})
    ).json()

    seen = [c["id"] for page in (first, second, third) for c in page["items"]]
    assert seen == list(reversed(ids))
    assert third["next_cursor"] is None


async def test_list_defaults_to_20_items(api: Api, alice: User) -> None:
    await asyncio.gather(*(api.create(alice) for _ in range(21)))

    page = (await api.get(alice, BASE)).json()

    assert len(page["items"]) == 20
    assert page["next_cursor"] is not None


async def test_rename_changes_the_title_and_bumps_updated_at(api: Api, alice: User) -> None:
    created = await api.create(alice, title="old")

    response = await api.request(alice, "PATCH", f"{BASE}/{created['id']}", json={"title": "new"})

    assert response.status_code == 200, response.text
    renamed = response.json()
    assert renamed["title"] == "new"
    assert renamed["updated_at"] > created["updated_at"]
    assert renamed["created_at"] == created["created_at"]


async def test_rename_moves_the_conversation_to_the_top_of_the_list(api: Api, alice: User) -> None:
    older = await api.create(alice, title="older")
    await api.create(alice, title="newer")

    await api.request(alice, "PATCH", f"{BASE}/{older['id']}", json={"title": "renamed"})

    assert (await api.all_conversation_ids(alice))[0] == older["id"]


async def test_a_new_message_bumps_updated_at_and_the_list_order(
    api: Api, rpc: Rpc, alice: User
) -> None:
    older = await api.create(alice)
    newer = await api.create(alice)

    await rpc.append(alice, older["id"], "hello")

    after = await api.conversation(alice, older["id"])
    assert after["updated_at"] > newer["updated_at"]
    assert await api.all_conversation_ids(alice) == [older["id"], newer["id"]]


async def test_the_first_user_message_sets_a_missing_title(api: Api, rpc: Rpc, alice: User) -> None:
    conv = await api.create(alice)
    text = "Please help me plan a week of vegetarian dinners for a family of four people"

    await rpc.turn(alice, conv["id"], text)
    await rpc.turn(alice, conv["id"], "and a second message that must not change the title")

    title = (await api.conversation(alice, conv["id"]))["title"]
    assert title.startswith("Please help me plan a week of vegetarian dinners")
    assert len(title) <= 61


async def test_a_user_message_keeps_an_existing_title(api: Api, rpc: Rpc, alice: User) -> None:
    conv = await api.create(alice, title="Mine")

    await rpc.turn(alice, conv["id"], "something else entirely")

    assert (await api.conversation(alice, conv["id"]))["title"] == "Mine"


async def test_delete_answers_204_then_404_everywhere(api: Api, rpc: Rpc, alice: User) -> None:
    conv = await api.create(alice)
    await rpc.append(alice, conv["id"], "hi")
    path = f"{BASE}/{conv['id']}"

    assert (await api.request(alice, "DELETE", path)).status_code == 204

    assert (await api.get(alice, path)).status_code == 404
    assert (await api.get(alice, f"{path}/messages")).status_code == 404
    assert (await api.request(alice, "PATCH", path, json={"title": "x"})).status_code == 404
    assert (await api.request(alice, "DELETE", path)).status_code == 404
    assert conv["id"] not in await api.all_conversation_ids(alice)


async def test_messages_are_oldest_first_with_the_message_shape(
    api: Api, rpc: Rpc, alice: User
) -> None:
    conv = await api.create(alice)
    turn = await rpc.turn(alice, conv["id"], "question")

    page = await api.messages(alice, conv["id"])

    assert page["has_more"] is False
    user, reply = page["items"]
    assert set(user) == {
        "id", "conversation_id", "role", "content", "tool_calls", "status", "created_at",
        "feedback",
    }  # fmt: skip
    assert (user["id"], user["role"], user["content"], user["status"]) == (
        turn.user_message.id, "user", "question", "complete"
    )  # fmt: skip
    assert (reply["id"], reply["role"], reply["content"], reply["status"]) == (
        turn.assistant_message.id, "assistant", "", "in_progress"
    )  # fmt: skip
    assert datetime.fromisoformat(user["created_at"]).utcoffset() is not None


async def test_messages_without_a_cursor_are_the_latest_page(
    api: Api, rpc: Rpc, alice: User
) -> None:
    conv = await api.create(alice)
    for i in range(5):
        await rpc.append(alice, conv["id"], f"m{i}")

    page = await api.messages(alice, conv["id"], limit=3)

    assert [m["content"] for m in page["items"]] == ["m2", "m3", "m4"]
    assert page["has_more"] is True


async def test_messages_before_pages_backwards(api: Api, rpc: Rpc, alice: User) -> None:
    conv = await api.create(alice)
    sent = [await rpc.append(alice, conv["id"], f"m{i}") for i in range(5)]

    page = await api.messages(alice, conv["id"], limit=2, before=sent[3].id)
    first = await api.messages(alice, conv["id"], limit=2, before=sent[1].id)

    assert [m["content"] for m in page["items"]] == ["m1", "m2"]
    assert page["has_more"] is True
    assert [m["content"] for m in first["items"]] == ["m0"]
    assert first["has_more"] is False


async def test_messages_after_returns_what_came_next(api: Api, rpc: Rpc, alice: User) -> None:
    conv = await api.create(alice)
    sent = [await rpc.append(alice, conv["id"], f"m{i}") for i in range(5)]

    page = await api.messages(alice, conv["id"], limit=2, after=sent[1].id)
    tail = await api.messages(alice, conv["id"], after=sent[4].id)

    assert [m["content"] for m in page["items"]] == ["m2", "m3"]
    assert page["has_more"] is True
    assert tail == {"items": [], "has_more": False}


async def test_tool_calls_are_returned_as_json(api: Api, rpc: Rpc, alice: User) -> None:
    conv = await api.create(alice)
    calls = '[{"id": "call_1", "type": "function", "function": {"name": "now"}}]'

    await rpc.append(alice, conv["id"], "", role="assistant", tool_calls_json=calls)

    (message,) = (await api.messages(alice, conv["id"]))["items"]
    assert message["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "now"}}
    ]


async def test_health_and_readiness_answer(api: Api) -> None:
    assert (await api.get(None, "/healthz")).json() == {"status": "ok"}
    assert (await api.get(None, "/readyz")).json() == {"status": "ready"}


async def test_the_request_id_is_echoed(api: Api, alice: User) -> None:
    response = await api.get(alice, BASE, headers={"X-Request-ID": "trace-123"})

    assert response.headers["x-request-id"] == "trace-123"
