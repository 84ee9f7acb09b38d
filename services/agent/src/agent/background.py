"""Tasks that must outlive the request that started them: a reply's final write runs to
its end even when the client goes away, and shutdown waits for the ones still landing."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

# Writes that must outlive a cancelled request; strong refs so they are not collected.
_background: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


async def shielded(coro: Coroutine[Any, Any, T]) -> T:
    """Runs `coro` to its end even if the caller is cancelled meanwhile."""
    return await asyncio.shield(spawn(coro))


async def drain_background(seconds: float = 10.0) -> None:
    """Lets pending final writes land (app shutdown, before the channel closes)."""
    if _background:
        await asyncio.wait(list(_background), timeout=seconds)
