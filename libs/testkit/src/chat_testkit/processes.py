"""Real service processes for tests: devstack's runner, logging to test-artifacts/ and
waiting in start() until the process is ready (one runner for `make run` and tests).

One of our services (`ready_path` given) binds any free port itself (PORT=0, GRPC_PORT=0
unless the test sets them) and reports it: `url` and `ports` are where it listens, and a
restart comes back on the same ports."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from devstack.processes import (
    SERVICE_PORT_SETTINGS,
    ManagedProcess,
    free_port,
    http_ok,
    port_answers,
    wait_for_port,
)

__all__ = ["ARTIFACTS", "ServiceProcess", "free_port", "wait_for_port"]

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))


def _readiness(ready_url: str | None, ready_port: int | None) -> Callable[[], bool] | None:
    if ready_url:
        return http_ok(ready_url)
    if ready_port:
        return functools.partial(port_answers, ready_port)
    return None


class ServiceProcess(ManagedProcess):
    """One real process (`python -m <module>` or any command), logs to test-artifacts/."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        ready_url: str | None = None,
        ready_port: int | None = None,
        ready_path: str | None = None,
        cwd: str | None = None,
    ) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        served = ready_path is not None
        any_port = {setting: "0" for setting in SERVICE_PORT_SETTINGS.values()}
        super().__init__(
            name,
            command,
            env={**any_port, **(env or {})} if served else env,
            cwd=cwd,
            ready=_readiness(ready_url, ready_port),
            log_path=ARTIFACTS / f"{name}.log",
            port_settings=SERVICE_PORT_SETTINGS if served else None,
            ready_path=ready_path,
        )

    @classmethod
    def python_module(cls, name: str, module: str, *args: str, **kwargs: object) -> ServiceProcess:
        return cls(name, [sys.executable, "-m", module, *args], **kwargs)  # type: ignore[arg-type]

    def start(self, timeout: float = 30.0) -> ServiceProcess:
        """Starts the process and waits until it is ready (stopped again if it never is)."""
        super().start()
        try:
            self.wait_ready(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
