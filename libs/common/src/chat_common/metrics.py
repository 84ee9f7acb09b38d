"""Prometheus metrics: each service serves its own at `GET /metrics`, on its own port.

The gateway never routes `/metrics` (its `location /` serves static files), so only what
can reach a service's port (Prometheus, the cluster's scraper) reads it.

- HTTP: `http_requests_total` and `http_request_duration_seconds`, by method, route
  TEMPLATE (`/api/chat/conversations/{conversation_id}`, never the raw path: label values
  stay bounded) and status. A request no route matched is counted under `UNMATCHED`.
- Each service adds its own (turns, logins, gRPC calls) in its `metrics` module; values
  it can read only when asked (a pool's statistics) come from a collector registered for
  the app's lifetime with `collecting()`.

`METRICS_ENABLED=false` leaves out the middleware and the route (to measure their cost).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.registry import Collector, DuplicateTimeseries
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer (a stream's last byte)",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def route_template(scope: Scope) -> str:
    """The path template of the route that answered (set by the router), else UNMATCHED."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED


class MetricsMiddleware:
    """Pure ASGI (no per-request task or body buffering, so SSE stays streaming): one
    counter increment and one histogram observation per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: an exception escaped the app

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            route = route_template(scope)
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)


def metrics_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get(
        "/metrics",
        response_class=Response,
        responses={200: {"description": "Prometheus text format", "content": {"text/plain": {}}}},
    )
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router


def install_metrics(app: FastAPI, *, enabled: bool) -> None:
    """`GET /metrics` and the HTTP middleware, unless metrics are turned off."""
    if not enabled:
        return
    app.add_middleware(MetricsMiddleware)
    app.include_router(metrics_router())


@contextmanager
def collecting(collector: Collector) -> Iterator[None]:
    """`collector` is scraped while the block runs (an app's lifespan). A process serves
    one app; where a second runs beside it (tests), the first keeps its series."""
    try:
        REGISTRY.register(collector)
    except DuplicateTimeseries:
        yield
        return
    try:
        yield
    finally:
        REGISTRY.unregister(collector)
