"""`serve()`, the one start-up every service uses, as a real process: settings errors
name the setting without its value, the access log is off unless asked for, the port is
bound by the service and reported, and on SIGTERM readiness fails at once while requests
in flight finish, all within one SHUTDOWN_GRACE_SECONDS deadline."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from chat_common import health
from chat_common.health import health_router
from devstack.processes import SERVICE_PORT_SETTINGS, ManagedProcess
from fastapi import FastAPI
from fastapi.testclient import TestClient

pytestmark = pytest.mark.process  # serve() as a real process

APP = """
import asyncio, contextlib
from chat_common import shutdown
from chat_common.health import health_router
from chat_common.serve import serve
from chat_common.settings import ServiceSettings
from fastapi import FastAPI
from fastapi.testclient import TestClient

def make_app(settings):
    @contextlib.asynccontextmanager
    async def lifespan(app):
        # Like the agent's background replies: drained after the HTTP requests.
        background = asyncio.create_task(asyncio.sleep(60))
        yield
        left = shutdown.seconds_left(settings.shutdown_grace_seconds)
        await asyncio.wait([background], timeout=left)

    app = FastAPI(lifespan=lifespan)
    async def ready():
        return None
    app.include_router(health_router(ready))
    @app.get("/slow")
    async def slow(seconds: float):
        await asyncio.sleep(seconds)
        return {"done": True}
    return app

serve("demo", ServiceSettings, make_app)
"""


@contextmanager
def demo_service(tmp_path: Path, **env: str) -> Iterator[ManagedProcess]:
    """The demo app on a port it binds itself; fails at once if it is not ready in 20 s."""
    process = ManagedProcess(
        "demo",
        [sys.executable, "-c", APP],
        env={"PORT": "0", **env},
        log_path=tmp_path / "demo.log",
        port_settings=SERVICE_PORT_SETTINGS,
        ready_path="/healthz",
    )
    try:
        process.start().wait_ready(timeout=20)
        yield process
    finally:
        process.kill()


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


def test_the_service_binds_port_zero_and_reports_the_port_it_got(tmp_path: Path) -> None:
    with demo_service(tmp_path) as demo:
        reported = json.loads(demo.port_file.read_text())

        assert reported == {"http": demo.ports["http"]} and reported["http"] > 0
        assert httpx.get(demo.url("/healthz")).status_code == 200


def test_the_access_log_is_off_unless_asked_for(tmp_path: Path) -> None:
    logs = {}
    for access_log in ("false", "true"):
        with demo_service(tmp_path / access_log, ACCESS_LOG=access_log) as demo:
            httpx.get(demo.url("/healthz"))
            demo.stop()
        logs[access_log] = demo.log_path.read_text()

    assert "GET /healthz" not in logs["false"]
    assert "GET /healthz" in logs["true"]


def _get_later(url: str, answers: dict[str, object]) -> threading.Thread:
    def get() -> None:
        try:
            answers[url] = httpx.get(url, timeout=30).json()
        except (httpx.HTTPError, ValueError):  # cut: no answer, or half of one
            answers[url] = "cut"

    thread = threading.Thread(target=get)
    thread.start()
    return thread


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False  # no longer accepting: just as unready


def test_sigterm_finishes_short_requests_and_stops_within_one_deadline(tmp_path: Path) -> None:
    with demo_service(tmp_path, SHUTDOWN_GRACE_SECONDS="2") as demo:
        short, long = demo.url("/slow?seconds=1"), demo.url("/slow?seconds=4")
        answers: dict[str, object] = {}
        threads = [_get_later(short, answers), _get_later(long, answers)]
        time.sleep(0.3)  # both requests are in flight
        assert demo.proc is not None
        demo.proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        time.sleep(0.2)  # uvicorn acts on the signal at its next tick (0.1 s)
        ready_after_signal = _ready(demo.url("/readyz"))
        code = demo.proc.wait(timeout=15)
        stopped_in = time.monotonic() - signalled
        for thread in threads:
            thread.join(timeout=15)

    assert not ready_after_signal
    assert answers[short] == {"done": True}
    assert answers[long] == "cut"  # at the deadline
    # The HTTP drain took the 2 s; the background drain after it had no time left (it
    # used to get 2 s more of its own). uvicorn re-raises the signal: a clean stop.
    assert 1.8 < stopped_in < 3.5
    assert code in (0, -signal.SIGTERM)


def test_readiness_answers_503_once_draining(monkeypatch: pytest.MonkeyPatch) -> None:
    app = FastAPI()

    async def ready() -> None:
        return None

    app.include_router(health_router(ready))
    monkeypatch.setattr(health, "_draining", False)
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
        health.start_draining()
        assert client.get("/readyz").status_code == 503
