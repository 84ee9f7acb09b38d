"""`GET …/messages?around=<id>`: the page holding one message however far back it is
(a search hit), paged on both ways with the usual cursors, and scoped to its owner."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Api, User

BASE = "/api/chat/conversations"


def seed_messages(database_url: str, conversation_id: str, user: User, count: int) -> list[str]:
    """`count` messages m0… in order, in one statement; their ids, oldest first."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "INSERT INTO messages (id, conversation_id, user_id, role, content, status)"
            " SELECT gen_random_uuid(), %s, %s, 'user', 'm' || i, 'complete'"
            " FROM generate_series(0, %s - 1) AS i ORDER BY i RETURNING id",
            (conversation_id, user.id, count),
        ).fetchall()
    return [str(row[0]) for row in rows]


def contents(page: dict[str, Any]) -> list[str]:
    return [m["content"] for m in page["items"]]


async def test_a_message_far_back_comes_with_its_neighbours_and_both_cursors(
    api: Api, alice: User, database_url: str
) -> None:
    conv = await api.create(alice)
    ids = seed_messages(database_url, conv["id"], alice, 1500)

    page = await api.messages(alice, conv["id"], around=ids[200], limit=10)
    older = await api.messages(alice, conv["id"], before=page["items"][0]["id"], limit=5)
    newer = await api.messages(alice, conv["id"], after=page["items"][-1]["id"], limit=5)

    assert contents(page) == [f"m{i}" for i in range(195, 205)]
    assert page["has_more"] is True and page["has_newer"] is True
    assert contents(older) == [f"m{i}" for i in range(190, 195)]
    assert contents(newer) == [f"m{i}" for i in range(205, 210)]


async def test_the_first_and_the_last_message_pages_end_where_the_conversation_does(
    api: Api, alice: User, database_url: str
) -> None:
    conv = await api.create(alice)
    ids = seed_messages(database_url, conv["id"], alice, 30)

    first = await api.messages(alice, conv["id"], around=ids[0], limit=10)
    last = await api.messages(alice, conv["id"], around=ids[-1], limit=10)

    assert contents(first) == [f"m{i}" for i in range(10)]
    assert (first["has_more"], first["has_newer"]) == (False, True)
    assert contents(last) == [f"m{i}" for i in range(24, 30)]
    assert (last["has_more"], last["has_newer"]) == (True, False)


async def test_another_users_conversation_or_message_is_404(
    api: Api, alice: User, bob: User, database_url: str
) -> None:
    conv = await api.create(alice)
    (message,) = seed_messages(database_url, conv["id"], alice, 1)
    bobs = await api.create(bob)
    (bobs_message,) = seed_messages(database_url, bobs["id"], bob, 1)
    path = f"{BASE}/{conv['id']}/messages"

    as_bob = await api.get(bob, path, params={"around": message})
    foreign_message = await api.get(alice, path, params={"around": bobs_message})

    assert as_bob.status_code == 404, as_bob.text
    assert foreign_message.status_code == 404, foreign_message.text
    assert message not in as_bob.text


async def test_a_bad_around_is_422(api: Api, alice: User, database_url: str) -> None:
    conv = await api.create(alice)
    (message,) = seed_messages(database_url, conv["id"], alice, 1)
    path = f"{BASE}/{conv['id']}/messages"

    not_an_id = await api.get(alice, path, params={"around": "nope"})
    with_before = await api.get(alice, path, params={"around": message, "before": message})

    assert not_an_id.status_code == 422
    assert with_before.status_code == 422
