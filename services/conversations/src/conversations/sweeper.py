"""Ends replies whose agent died mid-turn (SIGKILL, OOM, a lost node).

Such a reply stays `in_progress` forever: clients following it never see it end, and a
replay of its turn waits out its bound. A live agent writes a growing reply every 0.5 s
and gives up on a silent model within a minute, so a reply not written for
`STALE_REPLY_SECONDS` has no agent left; every `STALE_REPLY_SWEEP_SECONDS` each replica
marks those `interrupted` with one idempotent statement (several replicas may overlap).
"""

from __future__ import annotations

import asyncio
import logging

from conversations import db, store

log = logging.getLogger(__name__)


async def sweep_stale_replies(pool: db.Pool, *, interval: float, stale_seconds: float) -> None:
    """Runs until cancelled; a failed sweep (e.g. the database is down) is logged and the
    next one is tried on time."""
    while True:
        try:
            async with db.connection(pool) as conn:
                swept = await store.interrupt_stale_replies(conn, stale_seconds=stale_seconds)
            if swept:
                log.info("marked %d stale in-progress replies interrupted", swept)
        except Exception:
            log.exception("sweeping stale in-progress replies failed")
        await asyncio.sleep(interval)
