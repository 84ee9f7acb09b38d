"""The fault suite: a stack of its own with two agent replicas, its own Postgres (the
embedded one, which a test may restart) and a fault proxy between the agents and the
conversations gRPC server.

`make test` runs the short form (a few faults of each kind); `make faults` the full form
(FAULTS_FULL=1: N >= 20 agent kills) and writes docs/reliability.md from what was measured.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from chat_testkit.plugin import PROCESS, starts_processes
from devstack import Ports, Stack, StackConfig
from devstack.gateway import NO_LIMITS

from tests.faults.report import Report
from tests.helpers.fault_proxy import FaultProxy
from tests.helpers.gateway import GatewayClient
from tests.helpers.stacks import FAST_HASHING, UNLIMITED

HERE = Path(__file__).parent
FULL = os.environ.get("FAULTS_FULL") == "1"
# The reply lease of this stack (conversations sweeps every third of it): a reply whose
# agent died is final within FINAL_WITHIN seconds (the lease, a sweep, a poll).
LEASE_SECONDS = 4.0
FINAL_WITHIN = LEASE_SECONDS * 4 / 3 + 1.0
REPORT = Report()


def kills() -> int:
    """How many times a fault is repeated: N >= 20 in the full form."""
    return 20 if FULL else 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker("faults")
            item.add_marker(PROCESS)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if (path := os.environ.get("FAULTS_REPORT")) and REPORT.rows:
        Path(path).write_text(REPORT.markdown(full=FULL))


@pytest.fixture(scope="session")
def fault_proxy() -> Iterator[FaultProxy]:
    with FaultProxy(target_port=0) as proxy:  # fault_stack sets the target
        yield proxy


@pytest.fixture(scope="session")
@starts_processes
def fault_stack(fault_proxy: FaultProxy) -> Iterator[Stack]:
    """Two agents reaching conversations through the fault proxy; a Postgres of its own."""
    # Not under pytest's 0700 temp root: as root, Postgres runs as another user.
    data_dir = Path(tempfile.mkdtemp(prefix="chat-faults-"))
    data_dir.chmod(0o755)
    config = StackConfig(
        database_url=None,  # the embedded server: this suite restarts it
        ports=Ports.free(),
        data_dir=data_dir,
        log_dir=Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts")).resolve()
        / "faults"
        / f"logs-{os.getpid()}",
        gateway_env=NO_LIMITS,
        auth_rate=UNLIMITED,
        send_rate=UNLIMITED,
        chatkit_rate=UNLIMITED,
        offline_model=True,
        agent_replicas=2,
        service_env={
            "auth": FAST_HASHING,
            "conversations": {
                "REPLY_LEASE_SECONDS": str(LEASE_SECONDS),
                "TURN_RATE_PER_MINUTE": "0",
                "MAX_CONCURRENT_TURNS": "0",
            },
            "agent": {
                "CONVERSATIONS_GRPC_TARGET": fault_proxy.target,
                "REPLY_HEARTBEAT_SECONDS": "1",
                "SHUTDOWN_GRACE_SECONDS": "20",
            },
        },
    )
    try:
        stack = Stack(config)
        # conversations' gRPC port, once it reported it (before the agent starts).
        fault_proxy.target_port = lambda: stack.replica_grpc_ports["conversations"][0]
        with stack as running:
            yield running
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
async def client(fault_stack: Stack) -> AsyncIterator[GatewayClient]:
    async with GatewayClient(fault_stack.gateway_url) as gateway:
        yield gateway
