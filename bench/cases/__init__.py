"""The cases; each module's `run(ctx)` measures its figures and returns report rows."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import openai

from bench.client import User, create_conversation, gather_limited, sign_up_many
from bench.procstats import RssPeaks
from bench.sizes import Sizes
from bench.stack import BenchStack


@dataclass
class Context:
    bench: BenchStack
    sizes: Sizes
    gateway: httpx.AsyncClient
    model: openai.AsyncOpenAI
    # Set by the seeding steps (cases 4, 5, 8): who owns the large data, and where it is.
    listing_users: tuple[User, User] = field(init=False)
    history: tuple[User, str, str] = field(init=False)  # user, short and long conversation
    search_users: tuple[User, User] = field(init=False)  # few and very many messages (case 8)

    async def users(self, count: int) -> list[User]:
        return await sign_up_many(self.gateway, count)

    async def conversations(self, users: list[User], count: int) -> list[tuple[User, str]]:
        """`count` new conversations, spread over `users` round-robin."""
        owners = [users[i % len(users)] for i in range(count)]
        jobs = [functools.partial(create_conversation, self.gateway, u) for u in owners]
        ids = await gather_limited(jobs, limit=16)
        return list(zip(owners, ids, strict=True))


@contextlib.asynccontextmanager
async def sampling(peaks: RssPeaks, every: float = 0.2) -> AsyncIterator[RssPeaks]:
    """Samples resident memory in the background while the body runs."""

    async def loop() -> None:
        while True:
            peaks.sample()
            await asyncio.sleep(every)

    task = asyncio.create_task(loop())
    try:
        yield peaks
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        peaks.sample()
