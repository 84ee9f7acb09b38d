"""Children never outlive their runner: stopped as a group, gone when the runner dies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from devstack.processes import ManagedProcess, free_port

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose.
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split()[2] == "Z")


def _wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_stop_ends_the_child_and_what_it_spawned(tmp_path: Path) -> None:
    # A shell that starts a grandchild: the whole process group must go.
    script = f"{SLEEPER[0]} -c 'import time; time.sleep(60)' & echo $! > {tmp_path}/gc; wait"
    process = ManagedProcess("parent", ["sh", "-c", script], log_path=tmp_path / "p.log")
    process.start()
    grandchild_file = tmp_path / "gc"
    deadline = time.monotonic() + 5
    while not grandchild_file.exists() or not grandchild_file.read_text().strip():
        assert time.monotonic() < deadline, "the grandchild never started"
        time.sleep(0.05)
    grandchild = int(grandchild_file.read_text())
    process.stop(timeout=5)
    assert not process.running
    assert _wait_gone(grandchild), "the grandchild outlived stop()"


def test_children_die_with_a_runner_killed_by_sigkill(tmp_path: Path) -> None:
    runner_code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from devstack.processes import ManagedProcess
        child = ManagedProcess("child", {SLEEPER!r}, log_path=Path({str(tmp_path)!r}) / "c.log")
        child.start()
        print(child.pid, flush=True)
        time.sleep(60)
        """
    )
    runner = subprocess.Popen([sys.executable, "-c", runner_code], stdout=subprocess.PIPE)
    try:
        assert runner.stdout is not None
        child = int(runner.stdout.readline())
        assert _alive(child)
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait()
    assert _wait_gone(child), "the child outlived its runner"


EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


@pytest.mark.skipif(not EPHEMERAL.exists(), reason="Linux's ephemeral port range")
def test_free_ports_are_ones_the_kernel_never_hands_to_a_connection_meanwhile() -> None:
    low, high = (int(n) for n in EPHEMERAL.read_text().split())
    for port in {free_port() for _ in range(20)}:
        assert not low <= port <= high, f"{port} is in the ephemeral range {low}-{high}"
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # and free now
