"""Waiting for what happens after an answer (a sweep, a log line, a reply settling).

One bounded loop for every test: ask again at a short interval until the answer is the one
expected, and fail with what was last seen, never hang.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def poll_until(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], object] = bool,
    *,
    within: float = 10.0,
    interval: float = 0.05,
    message: str = "the condition never held",
) -> T:
    """Awaits `probe()` every `interval` seconds until `done(answer)` is true; returns that
    answer. After `within` seconds: AssertionError with `message` and the last answer."""
    deadline = time.monotonic() + within
    while True:
        answer = await probe()
        if done(answer):
            return answer
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message} (after {within}s; last: {answer!r})")
        await asyncio.sleep(interval)
