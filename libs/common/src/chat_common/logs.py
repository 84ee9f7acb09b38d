"""One log line format for every service, carrying the request id.

The gateway sets `X-Request-ID` (generating one when absent); each service
keeps it in a contextvar for the request, echoes it back, passes it on in
gRPC metadata (`x-request-id`) and prints it in every log line, so one turn
can be followed across gateway, agent and conversations.

`LOG_FORMAT=text` (the default) is one readable line, with ` trace=<id>` after the
request id while an OpenTelemetry span is being served; `LOG_FORMAT=json` is one JSON
object per line: time, level, service, request_id, trace_id (the OpenTelemetry trace
being served, when there is one), user_id (once the request's token is verified),
logger, message, and exception text.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal, TextIO

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chat_common.tracing import current_trace_id

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
# The verified user a request acts for (set where its token is verified), for log lines.
user_id_var: ContextVar[str | None] = ContextVar("log_user_id", default=None)

LogFormat = Literal["text", "json"]

REQUEST_ID_HEADER = "x-request-id"
# fullmatch: `match` with `$` would also take a trailing newline (a forged log line).
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def clean_request_id(value: str | None) -> str:
    """The given id when it is safe to log and forward, else a fresh one."""
    if value and _SAFE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class _RequestIdFilter(logging.Filter):
    """Puts the request id and ` trace=<id>` (empty outside a span, to keep lines short)
    on the record, for the text format."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        trace_id = current_trace_id()
        record.trace = f" trace={trace_id}" if trace_id else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; reads the request's contextvars itself."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "request_id": request_id_var.get(),
            "trace_id": current_trace_id(),
            "user_id": user_id_var.get(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


def _formatter(service: str, log_format: LogFormat) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(service)
    return logging.Formatter(
        f"%(asctime)s {service} %(levelname)s [%(request_id)s]%(trace)s %(name)s: %(message)s"
    )


def log_handler(service: str, log_format: LogFormat) -> logging.StreamHandler[TextIO]:
    """A stderr handler writing `service`'s lines in `log_format`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(_formatter(service, log_format))
    return handler


def configure_logging(
    service: str,
    level: str = "INFO",
    *,
    access_log: bool = False,
    log_format: LogFormat = "text",
) -> None:
    root = logging.getLogger()
    root.handlers[:] = [log_handler(service, log_format)]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # uvicorn logs access lines only while its logger has a handler: none unless asked.
    logging.getLogger("uvicorn.access").propagate = access_log


class RequestIdMiddleware:
    """Pure ASGI (no per-request task or body buffering, so SSE stays streaming)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == REQUEST_ID_HEADER.encode()),
            None,
        )
        request_id = clean_request_id(incoming)
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
