"""Retention: soft-deleted conversations purged for real, and (optionally) old messages.

What is due:
- a conversation soft-deleted more than `DELETED_CONVERSATION_RETENTION_DAYS` ago
  (0: at the next run);
- with `MESSAGE_RETENTION_DAYS` > 0, every message created longer ago than that, in any
  conversation, live or not: that is how long any message is kept. Never a reply in
  progress nor any message of its conversation while it runs (its turn reads that
  history; the next run takes them). A conversation left with no message, untouched for
  as long, goes too. A cut can leave a tool result whose call is gone: the agent's
  history (agent/history.py) sends a tool result only after its call, so the model never
  sees the orphan.

How: every `RETENTION_SWEEP_SECONDS` (`chat_common.periodic.run_every`) one replica at a time
(a session advisory lock taken with `pg_try_advisory_lock`: a replica that finds it held
skips the run) runs statements of at most `RETENTION_BATCH_SIZE` rows each, each its own
short transaction followed by a pause as long as it took, until nothing is due: old
messages, then the conversations they left empty, then the messages of due conversations,
then the due conversations left empty, then files uploaded but never sent with a message
for `UNSENT_ATTACHMENT_HOURS`. Rows a turn holds are skipped (SKIP LOCKED), never waited for;
a deleted conversation takes no writes, so purging its messages meets no turn.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Final

from chat_common.periodic import run_every

from conversations import db
from conversations.rows import execute
from conversations.settings import Settings
from conversations.store import Connection

log = logging.getLogger(__name__)

# Two-key advisory lock (class id, object id): its own namespace, apart from budgets.py's.
LOCK_CLASS: Final = 0x70757267  # "purg"
LOCK_ID: Final = 0

_LOCK_KEY: Final = {"lock_class": LOCK_CLASS, "lock_id": LOCK_ID}
_KEY = "CAST(%(lock_class)s AS integer), CAST(%(lock_id)s AS integer)"
_TRY_LOCK = f"SELECT pg_try_advisory_lock({_KEY})"
_UNLOCK = f"SELECT pg_advisory_unlock({_KEY})"

# A message older than `message_days` (on the index of migration 0011), wherever it is,
# never one of a conversation with a reply in progress (the turn is reading its history).
# A conversation a turn holds right now, or a row another deleter holds, is skipped.
PURGE_OLD_MESSAGES = """
DELETE FROM messages WHERE id IN (
  SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id
  WHERE m.created_at < now() - make_interval(days => CAST(%(message_days)s AS integer))
    AND m.status <> 'in_progress'
    AND NOT EXISTS (SELECT 1 FROM messages r
                    WHERE r.conversation_id = c.id AND r.status = 'in_progress')
  LIMIT %(batch_size)s
  FOR UPDATE OF m SKIP LOCKED
  FOR SHARE OF c SKIP LOCKED)
"""

# A conversation left empty by PURGE_OLD_MESSAGES (or never written to) and untouched
# for `message_days`. FOR UPDATE re-checks updated_at on the newest row, so a turn
# committed meanwhile keeps its conversation; one a turn holds right now is skipped.
PURGE_EMPTY_CONVERSATIONS = """
DELETE FROM conversations WHERE id IN (
  SELECT c.id FROM conversations c
  WHERE c.updated_at < now() - make_interval(days => CAST(%(message_days)s AS integer))
    AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id)
  LIMIT %(batch_size)s
  FOR UPDATE SKIP LOCKED)
"""

# Soft-deleted more than `deleted_days` ago (the partial index on deleted_at, 0005).
_DUE = """c.deleted_at IS NOT NULL
  AND c.deleted_at < now() - make_interval(days => CAST(%(deleted_days)s AS integer))"""

# Messages of due conversations (the scan stops at `batch_size`). SKIP LOCKED: a row
# another deleter holds (account deletion) is left for later, never waited for.
PURGE_MESSAGES = f"""
DELETE FROM messages WHERE id IN (
  SELECT d.id FROM conversations c JOIN messages d ON d.conversation_id = c.id
  WHERE {_DUE}
  LIMIT %(batch_size)s
  FOR UPDATE OF d SKIP LOCKED)
"""

# Due conversations whose messages are gone (one that became due since the message
# batches waits for the next run, so no statement cascades to an unbounded number).
PURGE_CONVERSATIONS = f"""
DELETE FROM conversations WHERE id IN (
  SELECT c.id FROM conversations c
  WHERE {_DUE} AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id)
  LIMIT %(batch_size)s
  FOR UPDATE SKIP LOCKED)
"""


# A file registered by attachments.create but never sent with a message: gone after a day
# (the composer that uploaded it was abandoned; a send after that is refused clearly).
UNSENT_ATTACHMENT_HOURS: Final = 24
PURGE_UNSENT_ATTACHMENTS = f"""
DELETE FROM attachments WHERE id IN (
  SELECT a.id FROM attachments a
  WHERE a.conversation_id IS NULL
    AND a.created_at < now() - interval '{UNSENT_ATTACHMENT_HOURS} hours'
  LIMIT %(batch_size)s
  FOR UPDATE SKIP LOCKED)
"""


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    deleted_days: int
    message_days: int  # 0: messages are kept as long as their conversation lives
    batch_size: int

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        return cls(
            deleted_days=settings.deleted_conversation_retention_days,
            message_days=settings.message_retention_days,
            batch_size=settings.retention_batch_size,
        )

    def params(self) -> dict[str, Any]:
        return {
            "deleted_days": self.deleted_days,
            "message_days": self.message_days,
            "batch_size": self.batch_size,
        }


@dataclass(frozen=True, slots=True)
class Purged:
    expired: int  # messages older than MESSAGE_RETENTION_DAYS
    messages: int  # messages of deleted conversations
    conversations: int  # deleted ones, and ones left empty by `expired`
    unsent_attachments: int = 0


async def purge_due(pool: db.Pool, policy: RetentionPolicy) -> Purged | None:
    """Purges everything due, in batches; None when another replica's run holds the lock."""
    async with db.connection(pool) as conn:
        if not await _try_lock(conn):
            return None
        try:
            return await _purge(conn, policy)
        finally:
            await _unlock(conn)


async def purge_batch(conn: Connection, statement: str, policy: RetentionPolicy) -> int:
    """One statement of at most `batch_size` rows; how many it purged."""
    return (await execute(conn, statement, policy.params())).rowcount


async def _purge(conn: Connection, policy: RetentionPolicy) -> Purged:
    expired = emptied = 0
    if policy.message_days > 0:
        expired = await _until_done(conn, PURGE_OLD_MESSAGES, policy)
        emptied = await _until_done(conn, PURGE_EMPTY_CONVERSATIONS, policy)
    messages = await _until_done(conn, PURGE_MESSAGES, policy)
    conversations = emptied + await _until_done(conn, PURGE_CONVERSATIONS, policy)
    unsent = await _until_done(conn, PURGE_UNSENT_ATTACHMENTS, policy)
    return Purged(expired, messages, conversations, unsent_attachments=unsent)


async def _until_done(conn: Connection, statement: str, policy: RetentionPolicy) -> int:
    """Batches until one comes back short. After each, a pause as long as it took: a
    backlog is purged at half of one database core at most, leaving the rest to turns."""
    total = 0
    while True:
        started = time.monotonic()
        purged = await purge_batch(conn, statement, policy)
        total += purged
        if purged < policy.batch_size:
            return total
        await asyncio.sleep(time.monotonic() - started)


async def _try_lock(conn: Connection) -> bool:
    row = await (await execute(conn, _TRY_LOCK, _LOCK_KEY)).fetchone()
    return bool(row and row[0])


async def _unlock(conn: Connection) -> None:
    """A session lock outlives the run on a pooled connection: if it cannot be released
    (the run was cancelled mid-statement, the connection broke), the connection is
    closed, which releases it, and the pool replaces it."""
    try:
        await execute(conn, _UNLOCK, _LOCK_KEY)
    except Exception:
        log.warning("retention: lock not released, closing its connection", exc_info=True)
        await conn.close()


async def purge_periodically(pool: db.Pool, settings: Settings) -> None:
    """The lifespan task: `purge_due` every `RETENTION_SWEEP_SECONDS`, until cancelled."""
    policy = RetentionPolicy.from_settings(settings)

    async def run() -> None:
        started = time.monotonic()
        purged = await purge_due(pool, policy)
        if purged is None:
            log.debug("retention: another replica is purging, run skipped")
        elif purged.messages or purged.conversations or purged.expired or purged.unsent_attachments:
            log.info(
                "retention: purged %d conversations and %d messages (and %d messages"
                " older than MESSAGE_RETENTION_DAYS) and %d files never sent in %.2f s",
                purged.conversations,
                purged.messages,
                purged.expired,
                purged.unsent_attachments,
                time.monotonic() - started,
            )

    await run_every(settings.retention_sweep_seconds, run, what="retention purge")
