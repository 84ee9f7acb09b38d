"""The job that ends replies whose agent died mid-turn (SIGKILL, OOM, a lost node), run
in the services' one periodic loop (`chat_common.periodic.run_every`).

Such a reply would stay `in_progress` forever: clients following it never see it end,
and a replay of its turn waits out its bound. So a reply holds a lease: every write of
its agent renews it (text every 0.5 s, else a heartbeat every third of the lease), and
every third of `REPLY_LEASE_SECONDS` each replica marks the replies whose lease lapsed
`interrupted`, text kept, with one idempotent statement (several replicas may overlap).
A final state is never overwritten. The retention purge (retention.py) runs on the
same loop.
"""

from __future__ import annotations

import logging

from chat_common.periodic import run_every

from conversations import db, store

log = logging.getLogger(__name__)


async def sweep_stale_replies(pool: db.Pool, *, interval: float, lease_seconds: float) -> None:
    """Runs until cancelled (see `run_every`)."""

    async def sweep() -> None:
        async with db.connection(pool) as conn:
            swept = await store.interrupt_stale_replies(conn, stale_seconds=lease_seconds)
        if swept:
            log.info("marked %d in-progress replies whose lease lapsed interrupted", swept)

    await run_every(interval, sweep, what="sweeping stale in-progress replies")
