"""Tracing off (OTEL_EXPORTER_OTLP_ENDPOINT unset) installs nothing: no SDK tracer
provider, no instrumentation of FastAPI, grpc.aio, psycopg or httpx, no exporter
thread. Each case runs in a fresh interpreter, since instrumenting is once per process.
The same check with an endpoint set sees all of them, so it can tell."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.process

# Starts up as serve() does, from the environment's settings, then reports what is installed.
PROBE = """
import json, threading
from chat_common.settings import ServiceSettings
from chat_common.tracing import setup_tracing
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorClient, GrpcAioInstrumentorServer
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

settings = ServiceSettings()
app = FastAPI()
enabled = setup_tracing("demo", app, endpoint=settings.otel_exporter_otlp_endpoint)
instrumentors = [GrpcAioInstrumentorClient(), GrpcAioInstrumentorServer(),
                 HTTPXClientInstrumentor(), PsycopgInstrumentor()]
print(json.dumps({
    "enabled": enabled,
    "provider": type(trace.get_tracer_provider()).__name__,
    "libraries": [type(i).__name__ for i in instrumentors if i.is_instrumented_by_opentelemetry],
    "app": bool(getattr(app, "_is_instrumented_by_opentelemetry", False)),
    "threads": threading.active_count(),
}))
"""


def installed(endpoint: str | None) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    if endpoint:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return report


def test_without_an_endpoint_nothing_is_installed() -> None:
    assert installed(None) == {
        "enabled": False,
        "provider": "ProxyTracerProvider",
        "libraries": [],
        "app": False,
        "threads": 1,
    }


def test_with_an_endpoint_the_provider_and_every_instrumentation_are_installed() -> None:
    report = installed("http://127.0.0.1:9")
    assert report["enabled"] is True
    assert report["provider"] == "TracerProvider"
    assert report["libraries"] == [
        "GrpcAioInstrumentorClient",
        "GrpcAioInstrumentorServer",
        "HTTPXClientInstrumentor",
        "PsycopgInstrumentor",
    ]
    assert report["app"] is True
    assert report["threads"] == 2  # the batch exporter's
