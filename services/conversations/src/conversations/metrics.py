"""The conversations service's own metrics (chat_common.metrics has the HTTP ones):
gRPC calls by method and code, and the database pool, read from psycopg_pool's
statistics when Prometheus scrapes."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from conversations.db import Pool

GRPC_CALLS = Counter(
    "conversations_grpc_calls_total",
    "gRPC calls served, by method and status code",
    ["method", "code"],
)
GRPC_DURATION = Histogram(
    "conversations_grpc_call_duration_seconds",
    "Time to serve a gRPC call, by method",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def observe_call(method: str, code: str, seconds: float) -> None:
    """`method` is one of the service's own (the interceptor sees no other): bounded."""
    GRPC_CALLS.labels(method, code).inc()
    GRPC_DURATION.labels(method).observe(seconds)


class PoolCollector(Collector):
    """The pool's size and use now, and its cumulative requests and time spent waiting
    for a connection (`rate(wait) / rate(requests)` is the mean wait per request)."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    def collect(self) -> Iterator[Metric]:
        stats = self.pool.get_stats()
        gauges = {
            "size": ("pool_size", "Connections open"),
            "available": ("pool_available", "Connections open and idle"),
            "max": ("pool_max", "Connections the pool may open"),
            "waiting": ("requests_waiting", "Requests waiting for a connection now"),
        }
        for name, (key, doc) in gauges.items():
            yield GaugeMetricFamily(f"conversations_db_pool_{name}", doc, stats.get(key, 0))
        counters = {
            "requests": ("requests_num", "Connections asked of the pool", 1),
            "queued": ("requests_queued", "Requests that had to wait for a connection", 1),
            "errors": ("requests_errors", "Requests that got no connection", 1),
            "wait_seconds": ("requests_wait_ms", "Time requests waited for a connection", 1000),
        }
        for name, (key, doc, per_unit) in counters.items():
            value = stats.get(key, 0) / per_unit
            yield CounterMetricFamily(f"conversations_db_pool_{name}", doc, value)
