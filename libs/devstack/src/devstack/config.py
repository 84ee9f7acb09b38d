"""What a stack is made of: ports, limits, model speed, replicas, where data and logs go."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devstack.gateway import RateLimit, load_defaults, rate_settings, settings_from
from devstack.processes import free_port


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
        """Ports for tests, benchmarks, a second stack: 0 for our services, which bind any
        free port and report it (the stack reads the real ones), picked ports for what
        cannot report (nginx, Postgres) and for auth, the one address that must be known
        before it starts: conversations verifies tokens with auth's keys, and auth
        delivers account deletions to conversations (services.py `needs`)."""
        picked: list[int] = []
        while len(picked) < 3:
            if (port := free_port()) not in picked:
                picked.append(port)
        gateway, auth, postgres = picked
        return cls(gateway, auth, 0, 0, 0, 0, postgres)


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
    # The gateway's settings (gateway/defaults.env names: CHAT_RATE_LIMIT, CONN_PER_USER,
    # ...). None: each from the environment (`make run`), else its default. A mapping: those
    # values, defaults for the rest (the environment is not read: tests stay hermetic).
    gateway_env: Mapping[str, str] | None = None
    # Shortcuts that win over gateway_env and the environment when set.
    cors_allowed_origins: str | None = None
    auth_rate: RateLimit | None = None
    send_rate: RateLimit | None = None
    chatkit_rate: RateLimit | None = None
    # Offline model speed (tokens per second, 0 = instant); markers in a message override it.
    model_tokens_per_second: float = 0.0
    # Start the offline model and point the agent at it; None: when OPENAI_API_KEY is unset.
    offline_model: bool | None = None
    # Replicas (`make run`: AGENT_REPLICAS, CONVERSATIONS_REPLICAS): each its own process
    # and ports, all behind nginx (and, for conversations, behind the agent's gRPC target).
    agent_replicas: int = 1
    conversations_replicas: int = 1
    gateway_workers: str = "2"
    environment: str = "development"
    log_level: str = "INFO"
    # Extra environment for every service, and per service name (devstack.services).
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

    def gateway_settings(self) -> dict[str, str]:
        """Every gateway setting's value for this stack (see gateway_env)."""
        defaults = load_defaults(self.repo_root)
        if self.gateway_env is not None and (unknown := set(self.gateway_env) - set(defaults)):
            raise ValueError(f"unknown gateway settings: {', '.join(sorted(unknown))}")
        given = os.environ if self.gateway_env is None else self.gateway_env
        values = settings_from(given, defaults)
        if self.cors_allowed_origins is not None:
            values["CORS_ALLOWED_ORIGINS"] = self.cors_allowed_origins
        for zone, rate in (
            ("AUTH", self.auth_rate),
            ("SEND", self.send_rate),
            ("CHATKIT", self.chatkit_rate),
        ):
            if rate is not None:
                values |= rate_settings(zone, rate)
        return values

    @property
    def uses_offline_model(self) -> bool:
        if self.offline_model is not None:
            return self.offline_model
        return not os.environ.get("OPENAI_API_KEY")
