"""The whole stack for end-to-end tests: one session `stack`, driven through its gateway.

Real nginx, real Postgres (a fresh database from `make_database`), the three services and
the offline model, each a real process on a free port.
Logs: test-artifacts/e2e/logs-<pid>/<name>.log.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from chat_testkit.plugin import DatabaseFactory, starts_processes
from devstack import Ports, Stack, StackConfig
from devstack.gateway import NO_LIMITS

from tests.helpers.gateway import GatewayClient
from tests.helpers.stacks import FAST_HASHING, UNLIMITED

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))
ALLOWED_ORIGIN = "http://localhost:3000"
OTHER_ALLOWED_ORIGIN = "https://app.example.com"
# Conversations' per-user turn limits, off like the gateway's (the abuse tests set them).
NO_TURN_LIMITS = {"TURN_RATE_PER_MINUTE": "0", "MAX_CONCURRENT_TURNS": "0"}


def _fresh_log_dir() -> Path:
    """test-artifacts/e2e/logs-<pid>: this session's own (sessions may run side by side);
    the directories of sessions that are over are removed."""
    root = ARTIFACTS / "e2e"
    for old in root.glob("logs-*"):
        pid = old.name.removeprefix("logs-")
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return (root / f"logs-{os.getpid()}").resolve()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
@starts_processes
def stack(
    make_database: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The whole stack as `make run` starts it, on free ports, for the whole session."""
    logs = _fresh_log_dir()
    config = StackConfig(
        database_url=make_database("chat_e2e"),
        ports=Ports.free(),
        data_dir=tmp_path_factory.mktemp("stack"),
        log_dir=logs,
        cors_allowed_origins=f"{ALLOWED_ORIGIN}, {OTHER_ALLOWED_ORIGIN}",
        gateway_env=NO_LIMITS,
        auth_rate=UNLIMITED,
        send_rate=UNLIMITED,
        chatkit_rate=UNLIMITED,
        offline_model=True,
        service_env={"auth": FAST_HASHING, "conversations": NO_TURN_LIMITS},
        # Every service logs each request here (off by default), so a test can follow a
        # request id through every process.
        env={"ACCESS_LOG": "true"},
    )
    with Stack(config) as running:
        yield running


@pytest.fixture(scope="session")
async def gateway(stack: Stack) -> AsyncIterator[GatewayClient]:
    """An HTTP client of the gateway that knows the product's routes."""
    async with GatewayClient(stack.gateway_url) as client:
        yield client
