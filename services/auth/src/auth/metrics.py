"""The auth service's own metrics (chat_common.metrics has the HTTP ones): logins by
outcome, refreshes and reuse detections, and `/verify`, whose path is the hottest of
the stack (one counter increment; cache hits are read from the verifier when scraped)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from chat_common.errors import RateLimited, Unauthenticated
from chat_common.tokens import CachingVerifier
from prometheus_client import Counter
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

LOGINS = Counter(
    "auth_logins_total",
    "Logins by outcome: success, failure (bad credentials), throttled (429)",
    ["outcome"],
)
REFRESHES = Counter(
    "auth_refreshes_total", "Refresh-token rotations by outcome: rotated, rejected", ["outcome"]
)
REUSE_DETECTIONS = Counter(
    "auth_refresh_reuse_detected_total",
    "Used refresh tokens replayed after the grace period (their family was revoked)",
)
VERIFY = Counter(
    "auth_verify_total", "`/verify` answers (nginx auth_request) by result: ok, denied", ["result"]
)
VERIFY_OK = VERIFY.labels("ok")
VERIFY_DENIED = VERIFY.labels("denied")


@contextmanager
def counting_login() -> Iterator[None]:
    try:
        yield
    except RateLimited:
        LOGINS.labels("throttled").inc()
        raise
    except Unauthenticated:
        LOGINS.labels("failure").inc()
        raise
    LOGINS.labels("success").inc()


@contextmanager
def counting_refresh() -> Iterator[None]:
    try:
        yield
    except Unauthenticated:
        REFRESHES.labels("rejected").inc()
        raise
    REFRESHES.labels("rotated").inc()


class VerifyCacheCollector(Collector):
    """`/verify` answers that reused a token verified before (no signature check)."""

    def __init__(self, verifier: CachingVerifier) -> None:
        self.verifier = verifier

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "auth_verify_cache_hits",
            "`/verify` answers taken from the verified-token cache",
            self.verifier.user_cache_hits,
        )
