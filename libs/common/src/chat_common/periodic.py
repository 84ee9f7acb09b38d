"""A service's background work: jobs run on an interval, and tasks that live exactly as
long as the app (started in its lifespan, cancelled and awaited when it stops)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger(__name__)


async def run_every(interval: float, job: Callable[[], Awaitable[object]], *, what: str) -> None:
    """Runs `job` now and then every `interval` seconds until cancelled; a failed run
    (e.g. the database is down) is logged as "`what` failed" and the next one is tried
    on time."""
    while True:
        try:
            await job()
        except Exception:
            stop_if_cancelled()
            log.exception("%s failed", what)
        await asyncio.sleep(interval)


def stop_if_cancelled() -> None:
    """For a loop that logs a failed round and goes on: raises CancelledError when this
    task was asked to stop. A job's clean-up can turn the cancellation into an error (a
    query cancelled mid-statement, then a failing statement in a `finally`); logging it
    and waiting for the next round would outlive the app and hang its stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling() > 0:
        raise asyncio.CancelledError


@asynccontextmanager
async def in_background(jobs: Mapping[str, Coroutine[Any, Any, object]]) -> AsyncIterator[None]:
    """Runs each job (by task name) while the block runs; on leaving, cancels them all
    and waits until they have stopped, so none outlives what it uses (a pool, a channel)."""
    tasks = [asyncio.create_task(job, name=name) for name, job in jobs.items()]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        # A job that had already failed must not hide the others' stop, nor fail shutdown.
        await asyncio.gather(*tasks, return_exceptions=True)
