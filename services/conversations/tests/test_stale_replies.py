"""Replies left `in_progress` by an agent that died mid-turn end as `interrupted`."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import psycopg
import pytest
from chat.conversations.v1 import conversations_pb2 as pb
from chat_testkit.polling import poll_until
from chat_testkit.processes import ServiceProcess
from conversations import db, migrate, store
from conversations.settings import Settings
from conversations.sweeper import sweep_stale_replies

if TYPE_CHECKING:
    from chat_testkit.tokens import TestKeys

    from services.conversations.tests.conftest import Conn, Rpc, User

STALE_SECONDS = 300.0


async def age(conn: Conn, message_id: str, minutes: int = 10) -> None:
    """What a dead agent leaves: a row nobody wrote for `minutes`."""
    await conn.execute(
        "UPDATE messages SET updated_at = now() - make_interval(mins => %s) WHERE id = %s",
        (minutes, message_id),
    )


async def test_a_stale_reply_becomes_interrupted_with_its_text_kept(
    rpc: Rpc, alice: User, conn: Conn
) -> None:
    reply = await rpc.reply(alice, "Half a rep")
    await age(conn, reply.id)

    assert await store.interrupt_stale_replies(conn, stale_seconds=STALE_SECONDS) >= 1

    after = await rpc.stored(alice, reply)
    assert (after.status, after.content) == ("interrupted", "Half a rep")


async def test_a_reply_written_recently_is_left_in_progress(
    rpc: Rpc, alice: User, conn: Conn
) -> None:
    reply = await rpc.reply(alice, "Still going")
    await age(conn, reply.id, minutes=4)  # under STALE_SECONDS

    await store.interrupt_stale_replies(conn, stale_seconds=STALE_SECONDS)

    assert (await rpc.stored(alice, reply)).status == "in_progress"


async def test_finished_replies_keep_their_status_however_old(
    rpc: Rpc, alice: User, conn: Conn
) -> None:
    replies = [
        await rpc.update(alice, await rpc.reply(alice), content="x", status=status)
        for status in ("complete", "failed", "interrupted")
    ]
    for reply in replies:
        await age(conn, reply.id)

    await store.interrupt_stale_replies(conn, stale_seconds=STALE_SECONDS)

    after = [(await rpc.stored(alice, r)).status for r in replies]
    assert after == ["complete", "failed", "interrupted"]


async def test_an_update_moves_updated_at(rpc: Rpc, alice: User, conn: Conn) -> None:
    reply = await rpc.reply(alice)
    await age(conn, reply.id)

    await rpc.update(alice, reply, content="More")

    cursor = await conn.execute(
        "SELECT now() - updated_at < interval '1 minute' FROM messages WHERE id = %s",
        (reply.id,),
    )
    assert await cursor.fetchone() == (True,)


async def wait_for_status(rpc: Rpc, user: User, reply: pb.Message, status: str) -> pb.Message:
    return await poll_until(
        lambda: rpc.stored(user, reply),
        lambda current: current.status == status,
        interval=0.1,
        message=f"the reply never became {status}",
    )


@pytest.mark.process
async def test_the_service_process_sweeps_stale_replies_on_its_own(
    database_url: str, test_keys: TestKeys, rpc: Rpc, alice: User, conn: Conn
) -> None:
    env = {
        **test_keys.env(),
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "REPLY_LEASE_SECONDS": "1",  # swept every third of a second
    }
    process = ServiceProcess.python_module(
        "conversations-sweeper", "conversations", env=env, ready_path="/readyz"
    )
    with process:
        reply = await rpc.reply(alice, "Cut off")
        written = time.monotonic()
        # No write since: its lease lapses after 1 s for this process (the in-process
        # service of the other tests keeps the default 15 s).
        after = await wait_for_status(rpc, alice, reply, "interrupted")
        waited = time.monotonic() - written

    assert after.content == "Cut off"
    assert waited < 5, f"a lapsed 1 s lease was noticed after {waited:.1f} s"


async def test_a_failed_sweep_is_logged_and_the_next_one_runs(
    make_database: Callable[..., str],
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = make_database("conversations_sweeper")  # no tables yet: sweeps fail
    pool = db.create_pool(settings.model_copy(update={"database_url": url}))
    await pool.open()
    sweeper = asyncio.create_task(sweep_stale_replies(pool, interval=0.1, lease_seconds=60))

    async def logged_errors() -> list[logging.LogRecord]:
        return caplog.records

    try:
        with caplog.at_level(logging.ERROR, logger="conversations.sweeper"):
            await poll_until(logged_errors, message="no failed sweep was logged")
        await asyncio.to_thread(migrate.upgrade, url)
        message_id = await insert_stale_reply(url)

        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:

            async def swept_status() -> object:
                assert not sweeper.done(), "the sweeper stopped after a failure"
                return await status_of(conn, message_id)

            await poll_until(
                swept_status,
                lambda status: status == "interrupted",
                message="no sweep after the failed one",
            )
    finally:
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)
        await pool.close()
    assert "sweeping stale in-progress replies failed" in caplog.records[0].getMessage()


async def insert_stale_reply(url: str) -> uuid.UUID:
    conversation_id, user_id, message_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(
            "INSERT INTO conversations (id, user_id) VALUES (%s, %s)", (conversation_id, user_id)
        )
        await conn.execute(
            "INSERT INTO messages (id, conversation_id, user_id, role, content, status,"
            " updated_at) VALUES (%s, %s, %s, 'assistant', 'Hi', 'in_progress',"
            " now() - interval '1 hour')",
            (message_id, conversation_id, user_id),
        )
    return message_id


async def status_of(conn: Conn, message_id: uuid.UUID) -> object:
    cursor = await conn.execute("SELECT status FROM messages WHERE id = %s", (message_id,))
    row = await cursor.fetchone()
    return row[0] if row else None
