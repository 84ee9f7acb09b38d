"""Case 10: the retention purge (conversations/retention.py) against turns.

Seeded in the bench database: DELETED conversations (messages 45 days old) soft-deleted
40 days ago, and OLD live conversations whose messages are 400 days old, MESSAGES_EACH
messages per conversation.
The purge is the service's own `purge_due` (advisory lock, RETENTION_BATCH_SIZE rows per
statement, a pause as long as each batch took), run here on its own pool with
DELETED_CONVERSATION_RETENTION_DAYS=30 and MESSAGE_RETENTION_DAYS=365. One user sends
JSON turns through the gateway one at a time: first TURNS_WITHOUT with no purge, then as
many as fit while the purge runs, in the same run.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from conversations.retention import Purged, RetentionPolicy, purge_due
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from bench.cases import Context
from bench.client import send_json
from bench.report import Row
from bench.stats import ms, percentile

DELETED = 1_000  # conversations soft-deleted 40 days ago (all their messages go)
OLD = 1_000  # live conversations whose messages are all 400 days old
MESSAGES_EACH = 100
BATCH_SIZE = 500  # RETENTION_BATCH_SIZE's default
POLICY = RetentionPolicy(deleted_days=30, message_days=365, batch_size=BATCH_SIZE)
TURNS_WITHOUT = 200
WARM_UP_TURNS = 20
TEXT = "Is the purge in the way?"

_SEED = """
WITH c AS (
  INSERT INTO conversations (id, user_id, created_at, updated_at, deleted_at)
  SELECT gen_random_uuid(), gen_random_uuid(), now() - make_interval(days => %(age)s),
         now() - make_interval(days => %(age)s),
         CASE WHEN %(deleted)s THEN now() - interval '40 days' END
  FROM generate_series(1, %(conversations)s)
  RETURNING id, user_id
)
INSERT INTO messages (id, conversation_id, user_id, role, content, status, created_at)
SELECT gen_random_uuid(), c.id, c.user_id, 'user', 'an old message ' || i, 'complete',
       now() - make_interval(days => %(age)s)
FROM c, generate_series(1, %(messages)s) AS i
"""


def _seed(ctx: Context) -> int:
    """Seeds what is due; how many messages."""
    with ctx.bench.sql() as conn:
        for deleted, conversations, age in ((True, DELETED, 45), (False, OLD, 400)):
            params = {"deleted": deleted, "conversations": conversations, "age": age}
            conn.execute(_SEED, params | {"messages": MESSAGES_EACH})
        conn.execute("ANALYZE conversations")
        conn.execute("ANALYZE messages")
    return (DELETED + OLD) * MESSAGES_EACH


async def _purge(database_url: str) -> tuple[Purged, float]:
    pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
        database_url, min_size=1, max_size=2, kwargs={"autocommit": True}, open=False
    )
    async with pool:
        for _ in range(600):
            started = time.monotonic()
            if (purged := await purge_due(pool, POLICY)) is not None:
                return purged, time.monotonic() - started
            await asyncio.sleep(0.1)  # the service's own run (at its start) holds the lock
    raise RuntimeError("the retention lock stayed held for a minute")


async def run(ctx: Context) -> list[Row]:
    (user,) = await ctx.users(1)
    ((_, conversation),) = await ctx.conversations([user], 1)
    for _ in range(WARM_UP_TURNS):
        await send_json(ctx.gateway, user, conversation, TEXT)
    seeded = _seed(ctx)

    without = [await send_json(ctx.gateway, user, conversation, TEXT) for _ in range(TURNS_WITHOUT)]
    purge = asyncio.create_task(_purge(ctx.bench.database_url))
    during: list[float] = []
    while not purge.done():
        during.append(await send_json(ctx.gateway, user, conversation, TEXT))
    purged, seconds = await purge
    gone = purged.messages + purged.expired
    if gone < seeded:
        raise RuntimeError(f"the purge removed {gone:,} of {seeded:,} seeded messages")
    return [
        Row(
            "10",
            "retention purge rate",
            gone / seconds,
            "msg/s",
            note=(
                f"{gone:,} messages ({purged.expired:,} over MESSAGE_RETENTION_DAYS) and"
                f" {purged.conversations:,} conversations in {seconds:.1f} s,"
                f" batches of {BATCH_SIZE}"
            ),
        ),
        *(
            Row(
                "10",
                f"JSON turn {q} during the purge",
                ms(percentile(during, int(q[1:]))),
                "ms",
                ms(percentile(without, int(q[1:]))),
                "no purge",
                note=f"{len(during)} turns during, {len(without)} without",
            )
            for q in ("p50", "p99")
        ),
    ]
