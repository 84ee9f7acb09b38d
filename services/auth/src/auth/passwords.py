"""argon2id password hashing, off the event loop and bounded.

Each hash takes tens of milliseconds and tens of MiB: it runs in a worker thread,
and at most `PASSWORD_HASH_CONCURRENCY` run at once, so a login flood cannot stall
every other request (or exhaust memory). At most `PASSWORD_HASH_QUEUE` more wait for a
slot; beyond that a hash is refused at once (503 + Retry-After), because a request
queued behind minutes of hashing is worse than a fast "try again".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from chat_common.errors import Unavailable

from auth.settings import Settings


def make_hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.password_hash_time_cost,
        memory_cost=settings.password_hash_memory_kib,
        parallelism=settings.password_hash_parallelism,
        type=Type.ID,
    )


BUSY_RETRY_AFTER_SECONDS = 1


class HashQueueFull(Unavailable):
    default_message = "too many logins at once; try again in a moment"
    default_headers = {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)}


class Passwords:
    def __init__(self, *, hasher: PasswordHasher, concurrency: int, queue: int = 0):
        self._hasher = hasher
        self._slots = asyncio.Semaphore(concurrency)
        self._capacity = concurrency + queue  # running plus waiting
        self._pending = 0
        # Verified against when the email is unknown, so that path costs the same.
        self._dummy_hash = self._hasher.hash("not the password of any account")

    @classmethod
    def from_settings(cls, settings: Settings) -> Passwords:
        return cls(
            hasher=make_hasher(settings),
            concurrency=settings.password_hash_concurrency,
            queue=settings.password_hash_queue,
        )

    @property
    def hasher(self) -> PasswordHasher:
        return self._hasher

    def ensure_capacity(self) -> None:
        """HashQueueFull now if no hash could be queued: lets a caller refuse before it
        does any other work (a login flood then costs no database round trips)."""
        if self._pending >= self._capacity:
            raise HashQueueFull()

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """A hashing slot, or HashQueueFull at once when the queue is full."""
        self.ensure_capacity()
        self._pending += 1
        try:
            async with self._slots:
                yield
        finally:
            self._pending -= 1

    async def hash(self, password: str) -> str:
        async with self._slot():
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when `password` matches; with no hash (unknown account) a dummy is
        verified instead so both paths take the same time, and the answer is False."""
        async with self._slot():
            ok = await asyncio.to_thread(self._verify, password_hash or self._dummy_hash, password)
        return ok and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the stored hash was made with other (older) parameters."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
