"""GET /api/chat/search: the caller's own messages and titles, best first, keyset pages."""

from __future__ import annotations

import random
import string
import uuid
from typing import Any

import pytest
from conversations.search import HIGHLIGHT_END, HIGHLIGHT_START, split_query

from .conftest import Api, Rpc, User

SEARCH = "/api/chat/search"


def word() -> str:
    """A word no other test writes (letters only: one lexeme in any configuration)."""
    return "zz" + "".join(random.choices(string.ascii_lowercase, k=12))


async def search(api: Api, user: User, q: str, **params: Any) -> dict[str, Any]:
    response = await api.get(user, SEARCH, params={"q": q, **params})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def conversation_with(rpc: Rpc, user: User, *contents: str) -> tuple[str, list[str]]:
    """A new conversation of `user` holding `contents` as user messages: (id, message ids).
    Titled, so the first message does not become a title that matches too."""
    conv = await rpc.conversation(user, title="Search test")
    ids = [(await rpc.append(user, conv.id, content)).id for content in contents]
    return conv.id, ids


async def test_finds_a_word_sent_a_moment_ago(api: Api, rpc: Rpc, alice: User) -> None:
    needle = word()
    conv_id, (message_id,) = await conversation_with(rpc, alice, f"where is my {needle} today")
    await rpc.append(alice, conv_id, f"the {needle} is in the garden", role="assistant")

    items = (await search(api, alice, needle))["items"]

    hits = {item["message_id"]: item for item in items if item["role"] != "title"}
    assert len(hits) == 2, items
    mine = hits[message_id]
    assert mine["conversation_id"] == conv_id and mine["role"] == "user"
    assert f"{HIGHLIGHT_START}{needle}{HIGHLIGHT_END}" in mine["snippet"]
    assert {item["role"] for item in hits.values()} == {"user", "assistant"}


async def test_another_users_messages_never_appear(
    api: Api, rpc: Rpc, alice: User, bob: User
) -> None:
    needle = word()
    await conversation_with(rpc, alice, f"alice's secret {needle}")

    assert (await search(api, bob, needle))["items"] == []
    assert (await search(api, bob, needle[:6]))["items"] == []


async def test_a_deleted_conversation_never_matches(api: Api, rpc: Rpc, alice: User) -> None:
    needle = word()
    conv_id, _ = await conversation_with(rpc, alice, f"soon gone {needle}")
    assert (await search(api, alice, needle))["items"]

    deleted = await api.request(alice, "DELETE", f"/api/chat/conversations/{conv_id}")
    assert deleted.status_code == 204

    assert (await search(api, alice, needle))["items"] == []


async def test_a_title_hit_has_no_message(api: Api, alice: User) -> None:
    needle = word()
    conv = await api.create(alice, title=f"Notes on {needle}")

    (item,) = (await search(api, alice, needle))["items"]

    assert item["conversation_id"] == conv["id"]
    assert item["message_id"] is None and item["role"] == "title"
    assert f"{HIGHLIGHT_START}{needle}{HIGHLIGHT_END}" in item["snippet"]


async def test_a_phrase_matches_only_its_words_in_order(api: Api, rpc: Rpc, alice: User) -> None:
    first, second = word(), word()
    _, (in_order, _reversed) = await conversation_with(
        rpc, alice, f"{first} {second} in order", f"{second} {first} reversed"
    )

    items = (await search(api, alice, f'"{first} {second}"'))["items"]

    assert [item["message_id"] for item in items] == [in_order]


async def test_the_last_word_matches_as_a_prefix(api: Api, rpc: Rpc, alice: User) -> None:
    needle = word()
    _, (message_id,) = await conversation_with(rpc, alice, f"a {needle} appeared")

    typed = (await search(api, alice, needle[:8]))["items"]
    finished = (await search(api, alice, needle[:8] + " "))["items"]

    assert [item["message_id"] for item in typed] == [message_id]
    assert finished == [], "a trailing space ends the word: no prefix match"


async def test_a_minus_excludes_a_word(api: Api, rpc: Rpc, alice: User) -> None:
    fruit, other = word(), word()
    _, (plain, _mixed) = await conversation_with(rpc, alice, f"{fruit} alone", f"{fruit} {other}")

    items = (await search(api, alice, f"{fruit} -{other}"))["items"]

    assert [item["message_id"] for item in items] == [plain]


async def test_pages_neither_repeat_nor_skip(api: Api, rpc: Rpc, alice: User) -> None:
    needle = word()
    _, ids = await conversation_with(rpc, alice, *(f"{needle} number {i}" for i in range(7)))
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = await search(api, alice, needle + " ", **params)
        seen += [item["message_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert sorted(seen) == sorted(ids), "every hit exactly once"


async def test_snippets_are_plain_text(api: Api, rpc: Rpc, alice: User) -> None:
    needle = word()
    await conversation_with(rpc, alice, f"<b>{needle}</b> and \x02stray\x03 markers")

    (item,) = (await search(api, alice, needle))["items"]

    assert "<b>" not in item["snippet"], "ts_headline drops markup: never HTML in a snippet"
    assert item["snippet"].count(HIGHLIGHT_START) == item["snippet"].count(HIGHLIGHT_END) == 1


async def test_a_huge_reply_of_distinct_tokens_is_stored_and_its_start_searchable(
    api: Api, rpc: Rpc, alice: User
) -> None:
    # Whole, its tsvector would pass Postgres' 1 MB cap: only the first 100,000 characters
    # are indexed, so the write never fails for search's sake.
    needle = word()
    ids = " ".join(str(uuid.uuid4()) for _ in range(27_000))
    conv = await rpc.conversation(alice, title="Search test")
    reply = await rpc.append(alice, conv.id, f"{needle} {ids}", role="tool")

    items = (await search(api, alice, needle))["items"]

    assert [item["message_id"] for item in items] == [reply.id]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "   "},
        {"q": "x" * 201},
        {"q": "a\x00b"},
        {"q": "a", "limit": 0},
        {"q": "a", "limit": 51},
        {"q": "a", "cursor": "not-a-cursor"},
        {"q": "a", "cursor": "bmFuOjE6MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA"},  # nan
    ],
)
async def test_bad_input_is_422(api: Api, alice: User, params: dict[str, Any]) -> None:
    response = await api.get(alice, SEARCH, params=params)
    assert response.status_code == 422, response.text


async def test_without_a_token_is_401(api: Api) -> None:
    assert (await api.get(None, SEARCH, params={"q": "a"})).status_code == 401


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("hello wor", ("hello ", "wor:*")),
        ("hello wor ", ("hello wor ", "")),
        ('"a phrase"', ('"a phrase"', "")),
        ('"open phrase', ('"open phrase', "")),
        ("apple -banana", ("apple -banana", "")),
        ("cat or dog", ("cat or dog", "")),
        ("it's", ("it's", "")),
        ("über", ("", "über:*")),
    ],
)
def test_the_last_bare_word_becomes_a_prefix(query: str, expected: tuple[str, str]) -> None:
    assert split_query(query) == expected
