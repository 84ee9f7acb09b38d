"""Keyset paging of the conversation list holds while conversations are being added."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if TYPE_CHECKING:
    from services.conversations.tests.conftest import RunningService, UserFactory

BASE = "/api/chat/conversations"


def _insert_with_one_timestamp(database_url: str, user_id: str, count: int) -> list[str]:
    """`count` conversations sharing one updated_at (one statement, one now()): ties that
    only the id can order."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "INSERT INTO conversations (id, user_id) SELECT gen_random_uuid(), %s"
            " FROM generate_series(1, %s) RETURNING id",
            (user_id, count),
        ).fetchall()
    return [str(row[0]) for row in rows]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    tied=st.integers(0, 12),
    distinct=st.integers(0, 6),
    page_size=st.integers(1, 6),
    added_between_pages=st.lists(st.integers(0, 3), max_size=10),
)
def test_paging_while_conversations_are_added_never_repeats_nor_skips(
    service_process: RunningService,
    database_url: str,
    make_user: UserFactory,
    tied: int,
    distinct: int,
    page_size: int,
    added_between_pages: list[int],
) -> None:
    user = make_user()
    with httpx.Client(base_url=service_process.url, headers=user.headers, timeout=10) as http:

        def create() -> str:
            response = http.post(BASE, json={})
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        before = _insert_with_one_timestamp(database_url, str(user.id), tied)
        before += [create() for _ in range(distinct)]
        seen: list[str] = []
        cursor: str | None = None
        for page_number in range(1000):
            params: dict[str, str | int] = {"limit": page_size}
            if cursor:
                params["cursor"] = cursor
            response = http.get(BASE, params=params)
            assert response.status_code == 200, response.text
            seen += [c["id"] for c in response.json()["items"]]
            cursor = response.json()["next_cursor"]
            if not cursor:
                break
            extra = (
                added_between_pages[page_number] if page_number < len(added_between_pages) else 0
            )
            for _ in range(extra):
                create()

    assert len(seen) == len(set(seen)), "a conversation was listed twice"
    missing = set(before) - set(seen)
    assert not missing, f"{len(missing)} conversations that existed before paging were skipped"
