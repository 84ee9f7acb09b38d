"""Retention purges what is due, in bounded batches, one replica at a time, without
waiting for turns. Each test makes its own rows and sets their times directly."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import psycopg
import pytest
from chat_testkit.polling import poll_until
from conversations import db
from conversations.retention import (
    LOCK_CLASS,
    LOCK_ID,
    PURGE_MESSAGES,
    PURGE_OLD_MESSAGES,
    RetentionPolicy,
    purge_batch,
    purge_due,
    purge_periodically,
)
from conversations.settings import Settings

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Conn


POLICY = RetentionPolicy(deleted_days=30, message_days=0, batch_size=500)


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[db.Pool]:
    pool = db.create_pool(settings)
    await pool.open()
    try:
        yield pool
    finally:
        await pool.close()


async def conversation(
    conn: Conn,
    *,
    deleted_days_ago: int | None = None,
    idle_days: int = 0,
    messages: int = 2,
    reply_in_progress: bool = False,
) -> uuid.UUID:
    """A conversation of a fresh user, last active `idle_days` ago, with `messages`
    complete messages written then (and an in-progress reply written now), soft-deleted
    `deleted_days_ago`."""
    conversation_id, user_id = uuid.uuid4(), uuid.uuid4()
    await conn.execute(
        "INSERT INTO conversations (id, user_id, updated_at, deleted_at) VALUES (%s, %s,"
        " now() - make_interval(days => CAST(%s AS integer)),"
        " now() - make_interval(days => CAST(%s AS integer)))",
        (conversation_id, user_id, idle_days, deleted_days_ago),
    )
    await add_messages(conn, conversation_id, messages, days_ago=idle_days)
    if reply_in_progress:
        await add_messages(conn, conversation_id, 1, days_ago=0, status="in_progress")
    return conversation_id


async def add_messages(
    conn: Conn, conversation_id: uuid.UUID, count: int, *, days_ago: int, status: str = "complete"
) -> None:
    await conn.execute(
        "INSERT INTO messages (id, conversation_id, user_id, role, content, status, created_at)"
        " SELECT gen_random_uuid(), c.id, c.user_id, 'assistant', 'text', %s,"
        "   now() - make_interval(days => CAST(%s AS integer))"
        " FROM conversations c, generate_series(1, %s) WHERE c.id = %s",
        (status, days_ago, count, conversation_id),
    )


async def stored(conn: Conn, conversation_id: uuid.UUID) -> tuple[object, ...]:
    """(the conversation row exists, it is live, how many messages it has)."""
    cursor = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM conversations WHERE id = %(id)s),"
        " EXISTS (SELECT 1 FROM conversations WHERE id = %(id)s AND deleted_at IS NULL),"
        " (SELECT count(*) FROM messages WHERE conversation_id = %(id)s)",
        {"id": conversation_id},
    )
    return tuple(await cursor.fetchone() or ())


GONE = (False, False, 0)


async def test_only_conversations_deleted_past_the_retention_are_purged(
    pool: db.Pool, conn: Conn
) -> None:
    due = await conversation(conn, deleted_days_ago=31)
    recent = await conversation(conn, deleted_days_ago=1)
    live = await conversation(conn, idle_days=400)

    purged = await purge_due(pool, POLICY)

    assert purged is not None and purged.conversations >= 1 and purged.messages >= 2
    assert await stored(conn, due) == GONE, "a conversation deleted 31 days ago was kept"
    assert await stored(conn, recent) == (True, False, 2), "a recent deletion was purged"
    assert await stored(conn, live) == (True, True, 2), "a live conversation was touched"


async def test_zero_days_purges_a_deletion_at_the_next_run(pool: db.Pool, conn: Conn) -> None:
    just_deleted = await conversation(conn, deleted_days_ago=0)

    await purge_due(pool, RetentionPolicy(deleted_days=0, message_days=0, batch_size=500))

    assert await stored(conn, just_deleted) == GONE


async def test_each_statement_purges_at_most_a_batch_and_a_run_purges_all(
    pool: db.Pool, conn: Conn
) -> None:
    due = [await conversation(conn, deleted_days_ago=40, messages=3) for _ in range(5)]
    policy = RetentionPolicy(deleted_days=30, message_days=0, batch_size=2)

    assert await purge_batch(conn, PURGE_MESSAGES, policy) == 2

    purged = await purge_due(pool, policy)

    assert purged is not None and purged.messages >= 13 and purged.conversations >= 5
    assert [await stored(conn, c) for c in due] == [GONE] * 5


async def test_a_replica_finding_the_lock_held_skips_its_run(pool: db.Pool, conn: Conn) -> None:
    due = await conversation(conn, deleted_days_ago=31)
    async with await psycopg.AsyncConnection.connect(conn.info.dsn, autocommit=True) as other:
        await other.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, LOCK_ID))

        assert await purge_due(pool, POLICY) is None
        assert (await stored(conn, due))[0], "purged while another replica held the lock"
        await other.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, LOCK_ID))

    assert await purge_due(pool, POLICY) is not None
    assert await stored(conn, due) == GONE


async def purge_lock_held(conn: Conn) -> bool:
    cursor = await conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND classid = %s AND objid = %s AND objsubid = 2",
        (LOCK_CLASS, LOCK_ID),
    )
    row = await cursor.fetchone()
    return bool(row and row[0])


async def test_a_run_holds_the_lock_throughout_so_a_concurrent_run_skips(
    pool: db.Pool, conn: Conn
) -> None:
    due = await conversation(conn, deleted_days_ago=31)
    async with await psycopg.AsyncConnection.connect(conn.info.dsn) as blocker:
        # A table lock that no SKIP LOCKED passes: the first run stops at its first batch.
        await blocker.execute("LOCK TABLE messages IN SHARE MODE")
        first = asyncio.create_task(purge_due(pool, POLICY))
        await poll_until(
            lambda: purge_lock_held(conn), bool, message="the first run never took the lock"
        )

        assert await purge_due(pool, POLICY) is None, "two runs purged at once"
        await blocker.rollback()

    assert await asyncio.wait_for(first, timeout=10) is not None
    assert await stored(conn, due) == GONE


async def test_message_retention_purges_old_messages_and_the_conversations_they_empty(
    pool: db.Pool, conn: Conn
) -> None:
    idle = await conversation(conn, idle_days=10, messages=3)
    active = await conversation(conn, idle_days=10, messages=3)
    await add_messages(conn, active, 2, days_ago=1)
    replying = await conversation(conn, idle_days=10, reply_in_progress=True)
    recent = await conversation(conn, idle_days=3)
    just_created = await conversation(conn, messages=0)
    deleted_idle = await conversation(conn, idle_days=10, deleted_days_ago=1)

    purged = await purge_due(pool, RetentionPolicy(deleted_days=30, message_days=7, batch_size=2))

    assert purged is not None and purged.expired >= 8
    assert await stored(conn, active) == (True, True, 2), "an old message outlived the retention"
    assert await stored(conn, idle) == GONE, "an emptied conversation was kept"
    assert await stored(conn, deleted_idle) == GONE
    assert await stored(conn, replying) == (True, True, 3), "a reply in progress was cut"
    assert await stored(conn, recent) == (True, True, 2)
    assert await stored(conn, just_created) == (True, True, 0), "a new empty one was purged"


async def test_old_messages_go_a_batch_per_statement(conn: Conn) -> None:
    await conversation(conn, idle_days=10, messages=5)
    policy = RetentionPolicy(deleted_days=30, message_days=7, batch_size=2)

    assert await purge_batch(conn, PURGE_OLD_MESSAGES, policy) == 2


async def test_without_message_retention_old_messages_are_kept(pool: db.Pool, conn: Conn) -> None:
    old = await conversation(conn, idle_days=4000, messages=2)

    await purge_due(pool, POLICY)

    assert await stored(conn, old) == (True, True, 2)


async def test_a_purge_skips_a_conversation_a_turn_holds_instead_of_waiting(
    pool: db.Pool, conn: Conn
) -> None:
    held = await conversation(conn, idle_days=10)
    async with await psycopg.AsyncConnection.connect(conn.info.dsn) as turn:
        # What StartTurn holds while it stores a turn.
        await turn.execute("SELECT id FROM conversations WHERE id = %s FOR UPDATE", (held,))

        policy = RetentionPolicy(deleted_days=30, message_days=7, batch_size=500)
        await asyncio.wait_for(purge_due(pool, policy), timeout=5)

        assert await stored(conn, held) == (True, True, 2)
        await turn.rollback()


async def test_the_periodic_task_purges_and_logs_it(
    pool: db.Pool, conn: Conn, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    due = await conversation(conn, deleted_days_ago=31)
    every_tenth = settings.model_copy(update={"retention_sweep_seconds": 0.1})
    with caplog.at_level(logging.INFO, logger="conversations.retention"):
        task = asyncio.create_task(purge_periodically(pool, every_tenth))
        try:
            await poll_until(
                lambda: stored(conn, due), lambda row: row == GONE, message="never purged"
            )
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert any("retention: purged" in r.getMessage() for r in caplog.records)


async def test_files_never_sent_are_purged_after_a_day_and_sent_ones_kept(
    pool: db.Pool, conn: Conn
) -> None:
    sent_in = await conversation(conn)
    (user_id,) = await (
        await conn.execute("SELECT user_id FROM conversations WHERE id = %s", (sent_in,))
    ).fetchone() or (None,)
    files = {"abandoned": (None, 25), "fresh": (None, 1), "sent": (sent_in, 25)}
    ids = {}
    for name, (conversation_id, hours_ago) in files.items():
        ids[name] = uuid.uuid4()
        await conn.execute(
            "INSERT INTO attachments (id, user_id, conversation_id, name, mime_type, size,"
            " state, content, created_at) VALUES (%s, %s, %s, 'a.txt', 'text/plain', 2,"
            " 'uploaded', 'hi', now() - make_interval(hours => CAST(%s AS integer)))",
            (ids[name], user_id, conversation_id, hours_ago),
        )

    purged = await purge_due(pool, POLICY)

    assert purged is not None and purged.unsent_attachments >= 1
    cursor = await conn.execute(
        "SELECT id FROM attachments WHERE id = ANY(%s)", (list(ids.values()),)
    )
    kept = {row[0] for row in await cursor.fetchall()}
    assert kept == {ids["fresh"], ids["sent"]}
