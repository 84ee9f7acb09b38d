"""Failed logins per account: 429 with Retry-After after a handful, reset by a success."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from services.auth.tests.conftest import Account, AppFactory, AuthApi

MAX_FAILURES = 5  # the default LOGIN_MAX_FAILURES


async def fail(api: AuthApi, email: str, times: int) -> None:
    for _ in range(times):
        assert (await api.login(email, "wrong password")).status_code == 401


async def test_after_max_failures_even_the_right_password_is_429(
    api: AuthApi, account: Account
) -> None:
    await fail(api, account.email, MAX_FAILURES)
    response = await api.login(account.email, account.password)
    assert response.status_code == 429
    assert "detail" in response.json()
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= api.settings.login_failure_window_seconds


async def test_the_throttle_is_per_account(api: AuthApi, account: Account) -> None:
    other = await api.account()
    await fail(api, account.email, MAX_FAILURES)
    assert (await api.login(other.email, other.password)).status_code == 200


async def test_the_email_is_throttled_whatever_its_case(api: AuthApi, account: Account) -> None:
    await fail(api, account.email.upper(), MAX_FAILURES)
    assert (await api.login(account.email, account.password)).status_code == 429


async def test_a_success_resets_the_failure_count(api: AuthApi, account: Account) -> None:
    await fail(api, account.email, MAX_FAILURES - 1)
    assert (await api.login(account.email, account.password)).status_code == 200
    await fail(api, account.email, MAX_FAILURES - 1)
    assert (await api.login(account.email, account.password)).status_code == 200


async def test_an_unknown_email_is_throttled_like_a_known_one(api: AuthApi) -> None:
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    await fail(api, email, MAX_FAILURES)
    response = await api.login(email, "wrong password")
    assert response.status_code == 429
    assert "retry-after" in response.headers


async def test_parallel_guesses_cannot_exceed_the_limit(api: AuthApi, account: Account) -> None:
    responses = await asyncio.gather(
        *(api.login(account.email, f"guess {i}") for i in range(MAX_FAILURES * 3))
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(401) == MAX_FAILURES, statuses
    assert statuses.count(429) == MAX_FAILURES * 2, statuses


@pytest.fixture(scope="module")
async def short_window_api(app_factory: AppFactory) -> AsyncIterator[AuthApi]:
    async with app_factory(login_max_failures=2, login_failure_window_seconds=1) as running:
        yield running


async def test_the_lock_lifts_when_the_window_passes(short_window_api: AuthApi) -> None:
    account = await short_window_api.account()
    await fail(short_window_api, account.email, 2)
    locked = await short_window_api.login(account.email, account.password)
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == "1"
    await asyncio.sleep(1.1)
    assert (await short_window_api.login(account.email, account.password)).status_code == 200
