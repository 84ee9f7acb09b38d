"""Failed logins per (account, client address): growing delays for the failing pair,
never a refusal for the owner's right password from an address that has not failed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from services.auth.tests.conftest import Account, AppFactory, AuthApi

MAX_FAILURES = 5  # the default LOGIN_MAX_FAILURES
ATTACKER = "203.0.113.66"
OWNER = "198.51.100.7"


async def fail(api: AuthApi, email: str, times: int, address: str = ATTACKER) -> None:
    for _ in range(times):
        assert (await api.login(email, "wrong password", address=address)).status_code == 401


async def test_after_max_failures_the_pair_waits_even_with_the_right_password(
    api: AuthApi, account: Account
) -> None:
    await fail(api, account.email, MAX_FAILURES)
    response = await api.login(account.email, account.password, address=ATTACKER)
    assert response.status_code == 429
    assert "detail" in response.json()
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= api.settings.login_delay_seconds


async def test_an_attacker_failing_twenty_times_never_locks_the_owner_out(
    api: AuthApi, account: Account
) -> None:
    statuses = [
        (await api.login(account.email, f"guess {i}", address=ATTACKER)).status_code
        for i in range(20)
    ]
    assert statuses == [401] * MAX_FAILURES + [429] * (20 - MAX_FAILURES), statuses
    owner = await api.login(account.email, account.password, address=OWNER)
    assert owner.status_code == 200, owner.text
    # ...and the owner's success does not unlock the attacker's pair.
    assert (await api.login(account.email, "again", address=ATTACKER)).status_code == 429


async def test_the_throttle_is_per_account(api: AuthApi, account: Account) -> None:
    other = await api.account()
    await fail(api, account.email, MAX_FAILURES)
    assert (await api.login(other.email, other.password, address=ATTACKER)).status_code == 200


async def test_the_email_is_throttled_whatever_its_case(api: AuthApi, account: Account) -> None:
    await fail(api, account.email.upper(), MAX_FAILURES)
    response = await api.login(account.email, account.password, address=ATTACKER)
    assert response.status_code == 429


async def test_a_success_resets_the_failure_count(api: AuthApi, account: Account) -> None:
    await fail(api, account.email, MAX_FAILURES - 1)
    assert (await api.login(account.email, account.password, address=ATTACKER)).status_code == 200
    await fail(api, account.email, MAX_FAILURES - 1)
    assert (await api.login(account.email, account.password, address=ATTACKER)).status_code == 200


async def test_an_unknown_email_is_throttled_like_a_known_one(api: AuthApi) -> None:
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    await fail(api, email, MAX_FAILURES)
    response = await api.login(email, "wrong password", address=ATTACKER)
    assert response.status_code == 429
    assert "retry-after" in response.headers


async def test_parallel_guesses_cannot_exceed_the_limit(api: AuthApi, account: Account) -> None:
    responses = await asyncio.gather(
        *(api.login(account.email, f"guess {i}", address=ATTACKER) for i in range(15))
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(401) == MAX_FAILURES, statuses
    assert statuses.count(429) == 15 - MAX_FAILURES, statuses


@pytest.fixture(scope="module")
async def short_api(app_factory: AppFactory) -> AsyncIterator[AuthApi]:
    async with app_factory(
        login_max_failures=1, login_delay_seconds=1.0, login_failure_window_seconds=60
    ) as running:
        yield running


async def test_each_failure_after_the_free_ones_doubles_the_wait(short_api: AuthApi) -> None:
    account = await short_api.account()
    await fail(short_api, account.email, 1)
    first = await short_api.login(account.email, account.password, address=ATTACKER)
    assert (first.status_code, first.headers["retry-after"]) == (429, "1")
    await asyncio.sleep(1.05)
    await fail(short_api, account.email, 1)  # allowed again, and wrong again
    second = await short_api.login(account.email, account.password, address=ATTACKER)
    assert (second.status_code, second.headers["retry-after"]) == (429, "2")
    await asyncio.sleep(2.05)
    ok = await short_api.login(account.email, account.password, address=ATTACKER)
    assert ok.status_code == 200, ok.text


async def test_the_wait_never_outlasts_the_window(app_factory: AppFactory) -> None:
    async with app_factory(login_max_failures=2, login_failure_window_seconds=1) as api:
        account = await api.account()
        await fail(api, account.email, 2)
        locked = await api.login(account.email, account.password, address=ATTACKER)
        assert locked.status_code == 429
        assert locked.headers["retry-after"] == "1"
        await asyncio.sleep(1.1)
        ok = await api.login(account.email, account.password, address=ATTACKER)
        assert ok.status_code == 200


async def test_one_address_has_a_cap_across_accounts(app_factory: AppFactory) -> None:
    async with app_factory(login_address_max_failures=3) as api:
        spray = f"192.0.2.{uuid.uuid4().int % 250 + 1}"
        for i in range(3):
            await fail(api, f"victim-{i}-{uuid.uuid4().hex[:6]}@example.com", 1, address=spray)
        account = await api.account()
        capped = await api.login(account.email, account.password, address=spray)
        assert capped.status_code == 429
        assert int(capped.headers["retry-after"]) >= 1
        elsewhere = await api.login(account.email, account.password, address=OWNER)
        assert elsewhere.status_code == 200


async def test_x_real_ip_from_an_untrusted_peer_is_ignored(app_factory: AppFactory) -> None:
    # The in-process peer is 127.0.0.1: with only 10.0.0.1 trusted, the header is a lie.
    async with app_factory(trusted_proxies="10.0.0.1") as api:
        account = await api.account()
        for i in range(MAX_FAILURES):
            response = await api.login(account.email, "wrong", address=f"203.0.113.{i + 1}")
            assert response.status_code == 401
        spoofed = await api.login(account.email, account.password, address="203.0.113.200")
        assert spoofed.status_code == 429
