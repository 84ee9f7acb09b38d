"""In process: what auth reports to Prometheus: logins by outcome (throttled included),
refreshes by outcome, reuse detections, `/verify` results, and `/verify` cache hits."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from auth.metrics import VerifyCacheCollector
from chat_common.tokens import CachingVerifier, TokenVerifier
from chat_testkit.tokens import AUDIENCE, ISSUER
from chat_testkit.tokens import TestKeys as SigningKeys  # not a test class
from prometheus_client import REGISTRY

if TYPE_CHECKING:
    from services.auth.tests.conftest import Account, AppFactory, AuthApi

MAX_FAILURES = 5  # the default LOGIN_MAX_FAILURES


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture(scope="module")
async def strict_api(app_factory: AppFactory) -> AsyncIterator[AuthApi]:
    """No grace: every replay of a used refresh token is a reuse."""
    async with app_factory(refresh_reuse_grace_seconds=0.0) as running:
        yield running


async def test_logins_past_the_failure_limit_count_as_throttled(
    api: AuthApi, account: Account
) -> None:
    throttled, failed = (
        sample("auth_logins_total", outcome="throttled"),
        sample("auth_logins_total", outcome="failure"),
    )
    for _ in range(MAX_FAILURES):
        assert (await api.login(account.email, "wrong", address="203.0.113.9")).status_code == 401
    assert (await api.login(account.email, "wrong", address="203.0.113.9")).status_code == 429
    assert sample("auth_logins_total", outcome="failure") - failed == MAX_FAILURES
    assert sample("auth_logins_total", outcome="throttled") - throttled == 1


async def test_refreshes_count_rotated_rejected_and_reuse(strict_api: AuthApi) -> None:
    account = await strict_api.account()
    rotated, rejected = (sample("auth_refreshes_total", outcome=o) for o in ("rotated", "rejected"))
    reused = sample("auth_refresh_reuse_detected_total")

    assert (await strict_api.refresh(account.refresh_token)).status_code == 200
    assert (await strict_api.refresh(account.refresh_token)).status_code == 401  # a replay
    assert (await strict_api.refresh("never-issued")).status_code == 401

    assert sample("auth_refreshes_total", outcome="rotated") - rotated == 1
    assert sample("auth_refreshes_total", outcome="rejected") - rejected == 2
    assert sample("auth_refresh_reuse_detected_total") - reused == 1


async def test_verify_counts_ok_and_denied(api: AuthApi, account: Account) -> None:
    ok, denied = (sample("auth_verify_total", result=r) for r in ("ok", "denied"))
    assert (await api.verify(account.access_token)).status_code == 200
    assert (await api.verify("not-a-token")).status_code == 401
    assert sample("auth_verify_total", result="ok") - ok == 1
    assert sample("auth_verify_total", result="denied") - denied == 1


async def test_the_cache_hit_collector_reports_tokens_answered_from_the_cache() -> None:
    keys = SigningKeys()
    verifier = TokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, algorithms=["EdDSA"], jwks=keys.jwks()
    )
    cache = CachingVerifier(verifier)
    token = keys.token(uuid.uuid4())
    for _ in range(3):
        await cache.verify(token)
    [family] = VerifyCacheCollector(cache).collect()
    assert family.name == "auth_verify_cache_hits"
    assert [(s.name, s.value) for s in family.samples] == [("auth_verify_cache_hits_total", 2)]
