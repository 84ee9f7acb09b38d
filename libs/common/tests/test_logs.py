"""LOG_FORMAT=json: one JSON object per line with the request's ids and user, and the
trace id of the span being served; the default stays readable text."""

from __future__ import annotations

import logging
import sys
from io import StringIO
from pathlib import Path

import httpx
import orjson
import pytest
from chat_common.logs import JsonFormatter, log_handler, request_id_var, user_id_var
from devstack.processes import SERVICE_PORT_SETTINGS, ManagedProcess
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736


def record(message: str = "hello %s", *args: object) -> logging.LogRecord:
    return logging.LogRecord("demo.logger", logging.WARNING, __file__, 1, message, args, None)


def test_a_json_line_carries_the_request_the_user_and_the_trace() -> None:
    span = NonRecordingSpan(SpanContext(TRACE_ID, 0x00F067AA0BA902B7, False, TraceFlags(1)))
    request_token = request_id_var.set("req-1")
    user_token = user_id_var.set("5f0c8a1e-0000-4000-8000-000000000001")
    try:
        with trace.use_span(span):
            line = JsonFormatter("demo").format(record("hello %s", "world"))
    finally:
        user_id_var.reset(user_token)
        request_id_var.reset(request_token)
    parsed = orjson.loads(line)
    assert parsed == {
        "time": parsed["time"],
        "level": "WARNING",
        "service": "demo",
        "request_id": "req-1",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "user_id": "5f0c8a1e-0000-4000-8000-000000000001",
        "logger": "demo.logger",
        "message": "hello world",
    }
    assert "\n" not in line


def test_outside_a_request_the_ids_are_empty() -> None:
    parsed = orjson.loads(JsonFormatter("demo").format(record()))
    assert (parsed["request_id"], parsed["trace_id"], parsed["user_id"]) == ("-", None, None)


def test_an_exception_is_in_the_same_line() -> None:
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        failing = record("it failed")
        failing.exc_info = sys.exc_info()
    line = JsonFormatter("demo").format(failing)
    assert "\n" not in line
    assert "ValueError: bad\nthing" in orjson.loads(line)["exception"]


def text_line(log_record: logging.LogRecord) -> str:
    handler = log_handler("demo", "text")
    handler.setStream(StringIO())
    handler.handle(log_record)
    stream = handler.stream
    assert isinstance(stream, StringIO)
    return stream.getvalue()


def test_a_text_line_carries_the_trace_id_while_a_span_is_served() -> None:
    span = NonRecordingSpan(SpanContext(TRACE_ID, 0x00F067AA0BA902B7, False, TraceFlags(1)))
    request_token = request_id_var.set("req-1")
    try:
        with trace.use_span(span):
            line = text_line(record("hello %s", "world"))
    finally:
        request_id_var.reset(request_token)
    assert " demo WARNING [req-1] trace=4bf92f3577b34da6a3ce929d0e0e4736 demo.logger: " in line
    assert line.endswith("hello world\n")


def test_a_text_line_outside_a_span_has_no_trace_field() -> None:
    line = text_line(record())
    assert " demo WARNING [-] demo.logger: hello" in line
    assert "trace=" not in line


APP = """
import logging
from chat_common.health import health_router
from chat_common.logs import RequestIdMiddleware
from chat_common.serve import serve
from chat_common.settings import ServiceSettings
from fastapi import FastAPI

def make_app(settings):
    app = FastAPI()
    app.add_middleware(RequestIdMiddleware)
    async def ready():
        return None
    app.include_router(health_router(ready))
    @app.get("/say")
    async def say():
        logging.getLogger("demo.route").info("said it")
        return {}
    return app

serve("demo", ServiceSettings, make_app)
"""


@pytest.mark.process
def test_a_service_started_with_log_format_json_prints_json_lines(tmp_path: Path) -> None:
    process = ManagedProcess(
        "demo",
        [sys.executable, "-c", APP],
        env={"PORT": "0", "LOG_FORMAT": "json", "ACCESS_LOG": "true"},
        log_path=tmp_path / "demo.log",  # its stdout and stderr
        port_settings=SERVICE_PORT_SETTINGS,
        ready_path="/healthz",
    )
    try:
        process.start().wait_ready(timeout=20)
        httpx.get(process.url("/say"), headers={"X-Request-ID": "req-json-1"})
    finally:
        process.stop()
    output = process.log_path.read_text()
    lines = [orjson.loads(line) for line in output.splitlines() if line.strip()]
    said = [line for line in lines if line["message"] == "said it"]
    assert said, f"no log line from the route in {output!r}"
    assert said[0]["request_id"] == "req-json-1"
    assert said[0]["service"] == "demo" and said[0]["level"] == "INFO"
    assert {line["logger"] for line in lines} >= {"demo.route", "uvicorn.access"}
