"""Child processes that never outlive their runner, and the ports they listen on.

Each child gets its own process group (so one signal reaches everything it spawned,
and a Ctrl-C in the terminal reaches only the runner, which then stops children in
order) and, on Linux, a parent-death signal (so a runner killed with SIGKILL still
takes its children with it). Linux ties that signal to the parent THREAD: start
processes from a thread that lives as long as they should (the main thread).

Our Python services bind their own ports (PORT=0: the kernel's choice at bind time) and
write them to $PORT_FILE once they listen (chat_common.bound_ports); a ManagedProcess
given `port_settings` reads them, and pins them for a restart (a restarted service comes
back where its clients and nginx look for it).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

import httpx

# Where free_port looks: above the well-known and registered services most machines run,
# below the kernel's ephemeral range (see _ephemeral_range).
_PICK_FROM = 10000
_PICK_TRIES = 100


def _ephemeral_range() -> tuple[int, int]:
    """The ports the kernel hands out for outgoing connections and for bind(port 0)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 65535  # Linux starts here; macOS and BSDs use 49152 and up


# The port each server of one of our services reports (chat_common.bound_ports), and the
# setting that asks for it.
SERVICE_PORT_SETTINGS = {"http": "PORT", "grpc": "GRPC_PORT"}
LOCALHOST = "127.0.0.1"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody uses now, for a process that will bind it a moment later.

    Only for what cannot bind port 0 and report what it got: nginx (its port is in its
    config file) and Postgres. Our services bind 0 themselves (see `port_settings`).

    Picked at random below the kernel's ephemeral range: the kernel never gives such a port
    to an outgoing connection or to another bind(0) in that moment, so only another picker
    choosing the same number at the same time could take it (a port from bind(0) itself,
    closed and handed over, can go to any connection in between)."""
    low, _ = _ephemeral_range()
    for _ in range(_PICK_TRIES if low - _PICK_FROM > 1000 else 0):
        port = random.randrange(_PICK_FROM, low)
        if port_is_free(port, host):
            return port
    with socket.socket() as s:  # no room below the range: the kernel's choice
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex((host, port)) == 0


def wait_for_port(port: int, timeout: float = 30.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_answers(port, host):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def http_ok(url: str) -> Callable[[], bool]:
    """A readiness check: the URL answers 200."""

    def check() -> bool:
        try:
            return httpx.get(url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def _with_parent_death_signal(command: Sequence[str], sig: signal.Signals) -> list[str]:
    """`command` run through `setpriv --pdeathsig`, which asks Linux to send `sig` when the
    runner dies. Not a preexec_fn: that runs Python between fork and exec, which is unsafe
    in a runner with threads (gRPC's poller, executors) and rules out vfork."""
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    if setpriv is None:
        return list(command)
    return [setpriv, f"--pdeathsig={sig.name}", "--", *command]


class ManagedProcess:
    """One child: started, checked for readiness, stopped (process group), restarted.

    Output goes to `log_path` (appended) and, with `echo=True`, also to this process's
    stdout prefixed by the name (what `make run` shows).
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        ready: Callable[[], bool] | None = None,
        log_path: Path,
        echo: bool = False,
        stop_signal: signal.Signals = signal.SIGTERM,
        user: str | None = None,
        port_settings: Mapping[str, str] | None = None,
        ready_path: str | None = None,
    ) -> None:
        """`port_settings`: which server's port ("http", "grpc") each setting asks for, for
        a process that reports its ports in $PORT_FILE; `ready_path` then answers 200 on
        the reported HTTP port once the process is ready (instead of `ready`)."""
        self.name = name
        self.command = list(command)
        self.env = {**os.environ, **(env or {})}
        self.cwd = str(cwd) if cwd else None
        self.ready = ready
        self.log_path = log_path
        self.echo = echo
        self.stop_signal = stop_signal
        self.user = user
        self.port_settings = dict(port_settings or {})
        self.ready_path = ready_path
        # What the process reported it listens on (empty until `wait_ready` saw it).
        self.ports: dict[str, int] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None
        self._port_dir: Path | None = None

    @property
    def port_file(self) -> Path:
        # A folder of this runner's own, not beside the log: stacks may share a log folder
        # (two runs from one checkout) and must never read each other's reports.
        if self._port_dir is None:
            self._port_dir = Path(tempfile.mkdtemp(prefix=f"{self.name}-ports-"))
        return self._port_dir / "ports.json"

    def url(self, path: str = "") -> str:
        """`http://127.0.0.1:<reported HTTP port><path>`."""
        return f"http://{LOCALHOST}:{self.ports['http']}{path}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> ManagedProcess:
        """Starts the process (does not wait for readiness: see `wait_ready`)."""
        if self.running:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self.port_settings:
            self.ports = {}
            self.port_file.unlink(missing_ok=True)  # a stale one would lie about this run
            self.env["PORT_FILE"] = str(self.port_file)
        log = self.log_path.open("ab")
        stdout: int | IO[bytes] = subprocess.PIPE if self.echo else log
        self.proc = subprocess.Popen(
            _with_parent_death_signal(self.command, self.stop_signal),
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=self.user,
        )
        if self.echo:
            self._pump = threading.Thread(target=self._copy_output, args=(log,), daemon=True)
            self._pump.start()
        else:
            log.close()
        return self

    def _copy_output(self, log: IO[bytes]) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        prefix = f"{self.name:>14} | ".encode()
        with log:
            for line in self.proc.stdout:
                log.write(line)
                log.flush()
                sys.stdout.buffer.write(prefix + line)
                sys.stdout.buffer.flush()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                code = self.proc.returncode if self.proc else None
                raise RuntimeError(f"{self.name} exited (code {code}):\n{self.tail()}")
            if self._ports_known() and self._answers():
                return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout:.0f}s:\n{self.tail()}")

    def _answers(self) -> bool:
        if self.ready_path is not None:
            return http_ok(self.url(self.ready_path))()
        return self.ready is None or self.ready()

    def _ports_known(self) -> bool:
        """Reads the reported ports once they are there, and pins each setting to its port
        so that a restart binds the same one."""
        if not self.port_settings or self.ports:
            return True
        asked = {name: self.env.get(setting, "0") for name, setting in self.port_settings.items()}
        if "0" not in asked.values():  # fixed ports (make run): known without a report
            self.ports = {name: int(port) for name, port in asked.items()}
            return True
        try:
            self.ports = {
                name: int(port) for name, port in json.loads(self.port_file.read_text()).items()
            }
        except FileNotFoundError:
            return False
        for name, setting in self.port_settings.items():
            if name in self.ports:
                self.env[setting] = str(self.ports[name])
        return True

    def wait_exit(self, timeout: float) -> int:
        """For one-shot commands (migrations): the exit code, or TimeoutError."""
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            self.stop()
            raise TimeoutError(f"{self.name} still running after {timeout:.0f}s") from exc
        if self._pump is not None:
            self._pump.join(timeout=2)
        return code

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop of the whole process group, then SIGKILL after `timeout`."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(self.stop_signal)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait()
        # Helpers the child may have left in its group go too.
        self._signal_group(signal.SIGKILL)
        if self._pump is not None:
            self._pump.join(timeout=2)
            self._pump = None
        if self._port_dir is not None:
            shutil.rmtree(self._port_dir, ignore_errors=True)
            self._port_dir = None

    def kill(self) -> None:
        """Abrupt death (SIGKILL to the group), for fault tests."""
        if self.proc is not None and self.proc.poll() is None:
            self._signal_group(signal.SIGKILL)
            self.proc.wait()

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)
