"""Retention: soft-deleted conversations (and, optionally, idle ones) purged for real.

What is due:
- a conversation soft-deleted more than `DELETED_CONVERSATION_RETENTION_DAYS` ago
  (0: at the next run);
- with `MESSAGE_RETENTION_DAYS` > 0, a whole conversation whose last activity
  (`updated_at`: its last message or rename) is older than that. Whole conversations,
  never single old messages: a conversation is never cut in the middle, and one with a
  reply `in_progress` is left alone. Such a conversation is first soft-deleted (it
  vanishes from its user's view at once, in one statement) and then purged like any due
  deleted one, in the same run.

How: every `RETENTION_SWEEP_SECONDS` (in sweeper.run_every's loop) one replica at a time
(a session advisory lock taken with `pg_try_advisory_lock`: a replica that finds it held
skips the run) runs statements of at most `RETENTION_BATCH_SIZE` rows each, each its own
short transaction followed by a pause as long as it took, until nothing is due: idle
conversations soft-deleted, then the messages of due conversations, then the due
conversations left empty, then files uploaded but never sent with a message for
`UNSENT_ATTACHMENT_HOURS`. Rows a turn holds are skipped (SKIP LOCKED), never waited for;
a deleted conversation takes no writes, so purging its messages meets no turn.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Final

from conversations import db
from conversations.rows import execute
from conversations.settings import Settings
from conversations.store import Connection
from conversations.sweeper import run_every

log = logging.getLogger(__name__)

# Two-key advisory lock (class id, object id): its own namespace, apart from budgets.py's.
LOCK_CLASS: Final = 0x70757267  # "purg"
LOCK_ID: Final = 0

_LOCK_KEY: Final = {"lock_class": LOCK_CLASS, "lock_id": LOCK_ID}
_KEY = "CAST(%(lock_class)s AS integer), CAST(%(lock_id)s AS integer)"
_TRY_LOCK = f"SELECT pg_try_advisory_lock({_KEY})"
_UNLOCK = f"SELECT pg_advisory_unlock({_KEY})"

# Live, idle for `message_days`, no reply running: soft-deleted (then due, by _DUE).
# FOR UPDATE re-checks updated_at on the newest row, so a turn committed meanwhile
# keeps its conversation; a row a turn holds right now is skipped.
EXPIRE_IDLE = """
WITH idle AS (
  SELECT c.id FROM conversations c
  WHERE c.deleted_at IS NULL
    AND c.updated_at < now() - make_interval(days => CAST(%(message_days)s AS integer))
    AND NOT EXISTS (SELECT 1 FROM messages m
                    WHERE m.conversation_id = c.id AND m.status = 'in_progress')
  LIMIT %(batch_size)s
  FOR UPDATE SKIP LOCKED
)
UPDATE conversations AS c SET deleted_at = now() FROM idle WHERE c.id = idle.id
"""

# Soft-deleted and due: deleted long enough ago, or (message retention) idle long enough.
# Found through the partial index on deleted_at (migration 0005).
_DUE = """c.deleted_at IS NOT NULL AND (
  c.deleted_at < now() - make_interval(days => CAST(%(deleted_days)s AS integer))
  OR (CAST(%(message_days)s AS integer) > 0
      AND c.updated_at < now() - make_interval(days => CAST(%(message_days)s AS integer))))"""

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
    expired: int  # live conversations soft-deleted for MESSAGE_RETENTION_DAYS
    messages: int
    conversations: int
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
    expired = 0
    if policy.message_days > 0:
        expired = await _until_done(conn, EXPIRE_IDLE, policy)
    messages = await _until_done(conn, PURGE_MESSAGES, policy)
    conversations = await _until_done(conn, PURGE_CONVERSATIONS, policy)
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
                "retention: purged %d conversations and %d messages (%d expired after"
                " MESSAGE_RETENTION_DAYS) and %d files never sent in %.2f s",
                purged.conversations,
                purged.messages,
                purged.expired,
                purged.unsent_attachments,
                time.monotonic() - started,
            )

    await run_every(settings.retention_sweep_seconds, run, what="retention purge")
