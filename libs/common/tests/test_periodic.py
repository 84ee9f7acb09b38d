"""chat_common.periodic: a failed run does not end the loop; background jobs stop with
their block."""

from __future__ import annotations

import asyncio

import pytest
from chat_common.periodic import in_background, run_every


async def test_a_failed_run_is_logged_and_the_next_one_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[int] = []
    third_run = asyncio.Event()

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("database down")
        if len(runs) == 3:
            third_run.set()

    loop = asyncio.create_task(run_every(0.001, job, what="the test job"))
    await asyncio.wait_for(third_run.wait(), timeout=5)
    loop.cancel()

    assert "the test job failed" in caplog.text
    assert runs[:3] == [0, 1, 2]


async def test_background_jobs_are_cancelled_and_awaited_on_leaving() -> None:
    stopped: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.append(name)

    async def fails_at_once() -> None:
        raise RuntimeError("broken job")

    async with in_background({"a": forever("a"), "b": forever("b"), "broken": fails_at_once()}):
        await asyncio.sleep(0)
        names = {t.get_name() for t in asyncio.all_tasks()}
        assert {"a", "b"} <= names

    assert sorted(stopped) == ["a", "b"]


async def test_a_cancel_the_job_turned_into_an_error_still_stops_the_loop() -> None:
    started = asyncio.Event()

    async def job() -> None:
        try:
            started.set()
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            # As a query cancelled mid-statement whose `finally` then fails.
            raise RuntimeError("current transaction is aborted") from None

    async with asyncio.timeout(5):  # before the fix: logged, then a sleep of an hour
        async with in_background({"job": run_every(3600, job, what="the test job")}):
            await started.wait()
