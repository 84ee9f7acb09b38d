"""A process's reported ports are its own: two runners whose processes share a name and a
log folder (two benchmarks from one checkout) never read each other's report."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from devstack.processes import SERVICE_PORT_SETTINGS, ManagedProcess

REPORTS_AT_ONCE = """
import json, os, time
with open(os.environ["PORT_FILE"], "w") as f:
    json.dump({"http": 4242}, f)
time.sleep(60)
"""
NEVER_REPORTS = "import time; time.sleep(60)"


def _process(log_dir: Path, code: str) -> ManagedProcess:
    return ManagedProcess(
        "conversations",
        [sys.executable, "-c", code],
        env={"PORT": "0"},
        log_path=log_dir / "conversations.log",
        port_settings=SERVICE_PORT_SETTINGS,
    )


def test_a_process_never_takes_another_runners_report_as_its_own(tmp_path: Path) -> None:
    other = _process(tmp_path, REPORTS_AT_ONCE)
    ours = _process(tmp_path, NEVER_REPORTS)
    try:
        ours.start()
        other.start().wait_ready(timeout=10)  # reports while ours still waits for its own

        with pytest.raises(TimeoutError):
            ours.wait_ready(timeout=1)
        assert ours.ports == {}
    finally:
        ours.kill()
        other.kill()
