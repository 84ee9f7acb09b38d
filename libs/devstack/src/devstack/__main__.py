"""`python -m devstack` (what `make run` runs): the whole stack in the foreground.

Postgres from DATABASE_URL, else an embedded one under .data/pg; migrations; auth,
conversations, the agent, the offline model when OPENAI_API_KEY is unset; nginx on
:8080. Ctrl-C (or SIGTERM) stops everything it started.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from types import FrameType

from devstack.config import StackConfig
from devstack.gateway import INSTALL_HINT, nginx_binary
from devstack.processes import port_is_free
from devstack.services import CATALOGUE
from devstack.stack import Stack


class _Stop(Exception):
    pass


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def _stop_when_orphaned() -> None:
    """`uv run` killed with SIGKILL leaves us orphaned: then stop as if told to."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()


def _replicas(name: str) -> int:
    """AGENT_REPLICAS=2 make run: how many of a service to start (default 1)."""
    value = os.environ.get(name, "").strip() or "1"
    if not value.isdigit() or not 1 <= int(value) <= 16:
        raise ValueError(f"{name}={value!r}: expected a whole number from 1 to 16")
    return int(value)


def _busy_ports(config: StackConfig) -> list[str]:
    ports = config.ports
    wanted = {"gateway": ports.gateway}
    for spec in CATALOGUE:
        if spec.replicas(config) > 0:
            wanted[spec.name] = spec.port(ports)
            if (grpc := spec.grpc_port(ports)) is not None:
                wanted[f"{spec.name} gRPC"] = grpc
    return [f"{name} :{port}" for name, port in wanted.items() if not port_is_free(port)]


def _banner(stack: Stack) -> str:
    url = stack.gateway_url
    model = "the offline model" if stack.config.uses_offline_model else "OpenAI (OPENAI_API_KEY)"
    return f"""
  The stack is up (model: {model}).
    chat page     {url}/
    health        {url}/healthz
    database      {stack.database_url}
    logs          {stack.config.log_path}/
  Try:
    curl -s -X POST {url}/api/auth/register -H 'Content-Type: application/json' \\
         -d '{{"email": "me@example.com", "password": "correct horse"}}'
  Ctrl-C stops everything.
"""


def main() -> int:
    try:
        config = StackConfig(
            database_url=os.environ.get("DATABASE_URL") or None,
            echo=True,
            agent_replicas=_replicas("AGENT_REPLICAS"),
            conversations_replicas=_replicas("CONVERSATIONS_REPLICAS"),
        )
    except ValueError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 1
    try:
        nginx_binary()
    except RuntimeError:
        print(f"devstack: {INSTALL_HINT}", file=sys.stderr)
        return 1
    if busy := _busy_ports(config):
        print(
            f"devstack: ports in use: {', '.join(busy)}. Is another `make run` going?",
            file=sys.stderr,
        )
        return 1
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    _stop_when_orphaned()
    stack = Stack(config)
    try:
        stack.start()
        print(_banner(stack), flush=True)
        threading.Event().wait()  # until a signal; children's output keeps streaming
    except _Stop as stop:
        print(f"\ndevstack: {stop} received, stopping everything", flush=True)
    except (RuntimeError, TimeoutError) as exc:
        print(f"devstack: could not start the stack: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip cleanup
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        print("devstack: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
