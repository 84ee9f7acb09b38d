"""argon2id at OWASP strength, hashing off the event loop, equal cost for unknown emails."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from typing import TYPE_CHECKING

import psycopg
import pytest
from argon2 import Type, extract_parameters
from auth.passwords import Passwords, make_hasher
from auth.settings import Settings
from pydantic import ValidationError

if TYPE_CHECKING:
    from services.auth.tests.conftest import AppFactory

OWASP = {"password_hash_time_cost": 2, "password_hash_memory_kib": 19456}


def test_the_default_hash_is_argon2id_at_owasp_strength_or_more() -> None:
    encoded = make_hasher(Settings(database_url="postgresql://unused")).hash("a password")
    params = extract_parameters(encoded)
    assert encoded.startswith("$argon2id$")
    assert params.type is Type.ID
    assert params.memory_cost >= 19456 and params.time_cost >= 2  # OWASP: m=19 MiB, t=2


def test_production_refuses_hashing_weaker_than_owasp(signing_pem: str) -> None:
    with pytest.raises(ValidationError, match="OWASP"):
        Settings(
            environment="production",
            database_url="postgresql://unused",
            jwt_private_keys=signing_pem,
            password_hash_memory_kib=1024,
            password_hash_time_cost=1,
        )


async def test_hashing_leaves_the_event_loop_free() -> None:
    settings = Settings(database_url="postgresql://unused", password_hash_concurrency=1)
    passwords = Passwords.from_settings(settings)  # the default (real) cost
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    started = time.monotonic()
    await asyncio.gather(*(passwords.hash(f"password {i}") for i in range(3)))
    elapsed = time.monotonic() - started
    ticking.cancel()
    # Blocking hashes would starve the ticker; threads let it run most of the time.
    assert ticks >= elapsed / 0.005 / 4, (ticks, elapsed)


async def test_an_unknown_email_costs_about_as_much_as_a_wrong_password(
    app_factory: AppFactory,
) -> None:
    async with app_factory(**OWASP) as api:
        known = await api.account()
        unknown = f"nobody-{uuid.uuid4().hex[:8]}@example.com"

        async def timed(email: str) -> float:
            started = time.perf_counter()
            assert (await api.login(email, "wrong password")).status_code == 401
            return time.perf_counter() - started

        known_times, unknown_times = [], []
        for _ in range(3):  # stays under LOGIN_MAX_FAILURES
            known_times.append(await timed(known.email))
            unknown_times.append(await timed(unknown))
    # Without the dummy hash an unknown email answers ~50x faster; a loose lower bound
    # catches that without flaking on a busy machine.
    ratio = statistics.median(unknown_times) / statistics.median(known_times)
    assert ratio > 0.25, f"unknown emails answer faster: {known_times} vs {unknown_times}"


async def test_login_rehashes_a_password_made_with_older_parameters(
    app_factory: AppFactory, auth_database_url: str
) -> None:
    async with app_factory() as cheap:
        account = await cheap.account()
    async with app_factory(password_hash_time_cost=2) as stronger:
        assert (await stronger.login(account.email, account.password)).status_code == 200
    async with await psycopg.AsyncConnection.connect(auth_database_url) as db:
        cursor = await db.execute(
            "SELECT password_hash FROM auth_users WHERE id = %s", (account.id,)
        )
        row = await cursor.fetchone()
    assert row is not None
    assert extract_parameters(row[0]).time_cost == 2
