"""What a stack is made of: ports, limits, model speed, replicas, where data and logs go."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from devstack.gateway import RateLimit
from devstack.processes import free_port

SERVICES = ("auth", "conversations", "agent", "offline-model")
DEFAULT_AUTH_RATE = RateLimit("10r/m", burst=20)
DEFAULT_SEND_RATE = RateLimit("30r/m", burst=10)
# ChatKit UIs also list threads and items through /chatkit: more room than sends.
DEFAULT_CHATKIT_RATE = RateLimit("120r/m", burst=40)


@dataclass(frozen=True)
class Ports:
    gateway: int = 8080
    auth: int = 8001
    conversations: int = 8002
    conversations_grpc: int = 50051
    agent: int = 8003
    offline_model: int = 8090
    postgres: int = 54329  # the embedded server only

    @classmethod
    def free(cls) -> Ports:
        """Ports nobody uses right now (tests, benchmarks, a second stack)."""
        ports: list[int] = []
        while len(ports) < 7:
            if (port := free_port()) not in ports:
                ports.append(port)
        return cls(*ports)


def find_repo_root(start: Path | None = None) -> Path:
    """The checkout holding gateway/nginx.conf.template (CHATKIT_REPO_ROOT overrides)."""
    if env := os.environ.get("CHATKIT_REPO_ROOT"):
        return Path(env).resolve()
    candidates = [Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents]
    if start is not None:
        candidates.insert(0, start)
    for path in candidates:
        if (path / "gateway" / "nginx.conf.template").exists():
            return path.resolve()
    raise RuntimeError("cannot find the repository (gateway/nginx.conf.template); cd into it")


@dataclass(frozen=True)
class StackConfig:
    """Knobs of a whole stack. The defaults are `make run`'s (the contract's ports)."""

    # Postgres server URL to use; None starts an embedded one with data in data_dir/pg.
    database_url: str | None = None
    ports: Ports = field(default_factory=Ports)
    repo_root: Path = field(default_factory=find_repo_root)
    # Relative paths are under repo_root.
    data_dir: Path = Path(".data")
    # Per-process logs (<name>.log); None: data_dir/logs.
    log_dir: Path | None = None
    # Also print every process's output, prefixed by its name (make run).
    echo: bool = False
    cors_allowed_origins: str = "http://localhost:3000"
    auth_rate: RateLimit = DEFAULT_AUTH_RATE
    send_rate: RateLimit = DEFAULT_SEND_RATE
    chatkit_rate: RateLimit = DEFAULT_CHATKIT_RATE
    # Offline model speed (tokens per second, 0 = instant); markers in a message override it.
    model_tokens_per_second: float = 0.0
    # Start the offline model and point the agent at it; None: when OPENAI_API_KEY is unset.
    offline_model: bool | None = None
    agent_replicas: int = 1
    gateway_workers: str = "2"
    environment: str = "development"
    log_level: str = "INFO"
    # Extra environment for every service, and per service name (see SERVICES).
    env: dict[str, str] = field(default_factory=dict)
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    ready_timeout: float = 120.0

    def path(self, relative: Path) -> Path:
        return relative if relative.is_absolute() else self.repo_root / relative

    @property
    def data_path(self) -> Path:
        return self.path(self.data_dir)

    @property
    def log_path(self) -> Path:
        return self.path(self.log_dir) if self.log_dir else self.data_path / "logs"

    @property
    def uses_offline_model(self) -> bool:
        if self.offline_model is not None:
            return self.offline_model
        return not os.environ.get("OPENAI_API_KEY")
