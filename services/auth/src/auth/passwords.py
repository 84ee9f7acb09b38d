"""argon2id password hashing, off the event loop and bounded.

Each hash takes tens of milliseconds and tens of MiB: it runs in a worker thread,
and at most `PASSWORD_HASH_CONCURRENCY` run at once, so a login flood queues here
instead of stalling every other request (or exhausting memory).
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from auth.settings import Settings


def make_hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.password_hash_time_cost,
        memory_cost=settings.password_hash_memory_kib,
        parallelism=settings.password_hash_parallelism,
        type=Type.ID,
    )


class Passwords:
    def __init__(self, *, hasher: PasswordHasher, concurrency: int):
        self._hasher = hasher
        self._slots = asyncio.Semaphore(concurrency)
        # Verified against when the email is unknown, so that path costs the same.
        self._dummy_hash = self._hasher.hash("not the password of any account")

    @classmethod
    def from_settings(cls, settings: Settings) -> Passwords:
        return cls(hasher=make_hasher(settings), concurrency=settings.password_hash_concurrency)

    @property
    def hasher(self) -> PasswordHasher:
        return self._hasher

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when `password` matches; with no hash (unknown account) a dummy is
        verified instead so both paths take the same time, and the answer is False."""
        async with self._slots:
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
