"""The password-hash queue is bounded: beyond it, a fast 503 with Retry-After."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from argon2 import PasswordHasher
from auth.passwords import HashQueueFull, Passwords

if TYPE_CHECKING:
    from services.auth.tests.conftest import AppFactory

# Slow enough that a burst of requests finds the one slot taken (~tens of ms each).
SLOW_HASHING = {"password_hash_time_cost": 3, "password_hash_memory_kib": 32768}


class GatedHasher(PasswordHasher):
    """argon2's hasher that waits for a gate before each hash (the slot stays busy)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.gate = threading.Event()

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.gate.wait(10)
        return super().hash(password, salt=salt)


async def test_beyond_concurrency_plus_queue_a_hash_is_refused_at_once() -> None:
    hasher = GatedHasher()
    hasher.gate.set()  # the dummy hash made at construction
    passwords = Passwords(hasher=hasher, concurrency=1, queue=2)
    hasher.gate.clear()
    running = [asyncio.create_task(passwords.hash(f"password {i}")) for i in range(3)]
    await asyncio.sleep(0.05)  # one hashing, two waiting
    with pytest.raises(HashQueueFull) as refused:
        await asyncio.wait_for(passwords.hash("one too many"), timeout=0.5)
    assert refused.value.status == 503 and refused.value.headers["Retry-After"] == "1"
    hasher.gate.set()
    assert len(await asyncio.gather(*running)) == 3
    assert await passwords.hash("room again")  # the queue drained


async def burst(call: Any, n: int) -> list[Any]:
    return list(await asyncio.gather(*(call(i) for i in range(n))))


async def test_a_login_flood_gets_503_with_retry_after(app_factory: AppFactory) -> None:
    async with app_factory(
        password_hash_concurrency=1, password_hash_queue=0, **SLOW_HASHING
    ) as api:
        account = await api.account()
        # Fewer than LOGIN_MAX_FAILURES, so the throttle (429) plays no part.
        responses = await burst(lambda i: api.login(account.email, f"guess {i}"), 4)
        statuses = sorted(r.status_code for r in responses)
        assert 503 in statuses and set(statuses) <= {401, 503}, statuses
        busy = next(r for r in responses if r.status_code == 503)
        assert busy.headers["retry-after"] == "1"
        assert "detail" in busy.json()
        # Refused attempts tested no password: they do not count towards the throttle.
        assert statuses.count(401) < 4
        assert (await api.login(account.email, account.password)).status_code == 200


async def test_a_register_flood_gets_503(app_factory: AppFactory) -> None:
    async with app_factory(
        password_hash_concurrency=1, password_hash_queue=0, **SLOW_HASHING
    ) as api:
        responses = await burst(lambda i: api.register(f"flood-{uuid.uuid4().hex}@x.org"), 6)
        statuses = sorted(r.status_code for r in responses)
        assert 503 in statuses and set(statuses) <= {201, 503}, statuses
