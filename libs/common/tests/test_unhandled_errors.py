"""An unexpected exception is a generic 500 that carries the request id, in the response
and in its log line (build_app answers it inside the request-id middleware)."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import orjson
import pytest
from chat_common.app import build_app
from chat_common.logs import log_handler
from chat_common.settings import ServiceSettings
from fastapi import FastAPI


@asynccontextmanager
async def _no_lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield


async def _always_ready(_: FastAPI) -> None:
    return None


def failing_app() -> FastAPI:
    app = build_app(
        "demo", ServiceSettings(metrics_enabled=False), lifespan=_no_lifespan, ready=_always_ready
    )

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    return app


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The error logger's lines, as the services write them (JSON, one object a line)."""
    lines = io.StringIO()
    handler = log_handler("demo", "json")
    handler.setStream(lines)
    logger = logging.getLogger("chat_common.errors")
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


async def test_a_500_carries_the_request_id_in_its_response_and_log_line(
    json_log: io.StringIO,
) -> None:
    transport = httpx.ASGITransport(app=failing_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo.test") as client:
        response = await client.get("/boom", headers={"X-Request-ID": "req-boom-1"})

    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}  # nothing of the internals
    assert response.headers["X-Request-ID"] == "req-boom-1"
    logged = [orjson.loads(line) for line in json_log.getvalue().splitlines()]
    assert [(e["request_id"], e["message"]) for e in logged] == [
        ("req-boom-1", "unhandled error on GET /boom")
    ]
    assert "hunter2" in logged[0]["exception"]  # the trace is in the log, not the response
