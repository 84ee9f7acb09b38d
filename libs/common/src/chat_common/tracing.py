"""OpenTelemetry traces, off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

`setup_tracing()` runs once per process at start-up (`serve()`), before the app's
lifespan opens its pool and channels: the official instrumentations patch psycopg's
connect, grpc.aio's server and channels and httpx's clients, so whatever is created
afterwards is traced. Spans go to `<endpoint>/v1/traces` over OTLP/HTTP in batches.

Without an endpoint nothing is set up: no provider, no instrumentation, no exporter
thread. The OpenTelemetry API then hands out non-recording spans (the agent's one manual
span around the model call costs a function call), so tracing off costs nothing
measurable on the hot path.

W3C `traceparent` crosses every hop: nginx passes the client's request headers through,
FastAPI's instrumentation reads it, the grpc.aio client interceptor writes it into the
call's metadata and the server interceptor reads it back.
"""

from __future__ import annotations

import logging
from typing import Final

from opentelemetry import trace
from starlette.types import ASGIApp

log = logging.getLogger(__name__)

# Probes and scrapes are not part of any turn: no span for them.
UNTRACED_URLS: Final = "/healthz,/readyz,/metrics"

_enabled = False


def setup_tracing(
    service: str,
    app: ASGIApp | None = None,
    *,
    endpoint: str | None,
    service_name: str | None = None,
) -> bool:
    """Exports this process's spans to `endpoint` (OTLP/HTTP) as `service_name` (default
    `service`) and instruments FastAPI (`app`), grpc.aio, psycopg and httpx. Does nothing
    and returns False without an endpoint."""
    global _enabled
    if not endpoint:
        return False
    if not _enabled:
        trace.set_tracer_provider(_provider(service_name or service, endpoint))
        _instrument_libraries()
        _enabled = True
    if app is not None:
        _instrument_app(app)
    log.info("exporting traces to %s as %s", endpoint, service_name or service)
    return True


def _provider(service_name: str, endpoint: str) -> trace.TracerProvider:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _instrument_libraries() -> None:
    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorClient,
        GrpcAioInstrumentorServer,
    )
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    GrpcAioInstrumentorServer().instrument()  # type: ignore[no-untyped-call]
    GrpcAioInstrumentorClient().instrument()  # type: ignore[no-untyped-call]
    PsycopgInstrumentor().instrument(enable_commenter=False)
    HTTPXClientInstrumentor().instrument()


def _instrument_app(app: ASGIApp) -> None:
    from fastapi import FastAPI
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    if isinstance(app, FastAPI):
        FastAPIInstrumentor.instrument_app(app, excluded_urls=UNTRACED_URLS)


def current_trace_id() -> str | None:
    """The current span's trace id (32 hex digits), for log lines; None outside a span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x")


def model_call_span(model: str, operation: str) -> trace.Span:
    """A client span for one model call (the agent's openai client runs on aiohttp, which
    no installed instrumentation traces), named and tagged per the GenAI conventions.
    Started, not made current: it is ended by the caller in a `finally`."""
    tracer = trace.get_tracer("chat_common.tracing")
    return tracer.start_span(
        f"{operation} {model}",
        kind=trace.SpanKind.CLIENT,
        attributes={"gen_ai.operation.name": operation, "gen_ai.request.model": model},
    )
