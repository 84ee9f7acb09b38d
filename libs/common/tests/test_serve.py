"""`serve()`, the one start-up every service uses, as a real process: settings errors
name the setting without its value, the access log is off unless asked for, and on
SIGTERM a request in flight finishes while readiness fails."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from chat_testkit.processes import free_port

pytestmark = pytest.mark.process  # serve() as a real process

APP = """
import asyncio
from chat_common.health import health_router
from chat_common.serve import serve
from chat_common.settings import ServiceSettings
from fastapi import FastAPI

def make_app(settings):
    app = FastAPI()
    async def ready():
        return None
    app.include_router(health_router(ready))
    @app.get("/slow")
    async def slow():
        await asyncio.sleep(1.5)
        return {"done": True}
    return app

serve("demo", ServiceSettings, make_app)
"""


@contextmanager
def demo_service(**env: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", APP],
        env={**os.environ, "PORT": str(port), **env},
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_an_invalid_setting_is_named_without_its_value() -> None:
    result = subprocess.run(
        [sys.executable, "-c", APP],
        env={**os.environ, "PORT": "s3cret-value"},
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode != 0
    assert "demo: invalid settings: PORT" in result.stderr
    assert "s3cret-value" not in result.stderr
    assert "Traceback" not in result.stderr


def test_the_access_log_is_off_unless_asked_for() -> None:
    with demo_service() as (quiet, url):
        httpx.get(f"{url}/healthz")
        quiet.send_signal(signal.SIGTERM)
        _, quiet_log = quiet.communicate(timeout=30)
    with demo_service(ACCESS_LOG="true") as (loud, url):
        httpx.get(f"{url}/healthz")
        loud.send_signal(signal.SIGTERM)
        _, loud_log = loud.communicate(timeout=30)

    assert "GET /healthz" not in quiet_log
    assert "GET /healthz" in loud_log


def test_sigterm_lets_a_request_in_flight_finish() -> None:
    with demo_service(SHUTDOWN_GRACE_SECONDS="10") as (process, url):
        answers: list[httpx.Response] = []
        slow = threading.Thread(target=lambda: answers.append(httpx.get(f"{url}/slow")))
        slow.start()
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        slow.join(timeout=15)
        process.wait(timeout=15)

    assert answers and answers[0].json() == {"done": True}
    # uvicorn re-raises the signal it caught once shutdown is done: a clean stop.
    assert process.returncode in (0, -signal.SIGTERM)
