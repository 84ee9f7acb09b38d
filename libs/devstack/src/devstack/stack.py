"""The whole stack as real processes: Postgres, migrations, services, offline model, nginx.

`make run` uses it in the foreground; end-to-end tests and benchmarks use it as a
context manager on free ports:

    with Stack(StackConfig(ports=Ports.free(), database_url=url)) as stack:
        httpx.get(f"{stack.gateway_url}/healthz")
"""

from __future__ import annotations

import contextlib
import secrets
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from devstack import postgres
from devstack.config import StackConfig
from devstack.gateway import (
    GatewaySettings,
    RateLimit,
    nginx_binary,
    nginx_process,
    rate_settings,
)
from devstack.processes import ManagedProcess, free_port, http_ok, port_is_free

LOCALHOST = "127.0.0.1"


class Stack:
    """Starts everything in order, waits until each part is ready, stops it all in reverse."""

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.processes: dict[str, ManagedProcess] = {}
        self.database_url = ""
        ports = self.config.ports
        self.agent_ports = [ports.agent] + [
            free_port() for _ in range(self.config.agent_replicas - 1)
        ]

    # ---- where things are
    @property
    def gateway_url(self) -> str:
        return f"http://{LOCALHOST}:{self.config.ports.gateway}"

    @property
    def auth_url(self) -> str:
        return f"http://{LOCALHOST}:{self.config.ports.auth}"

    @property
    def conversations_url(self) -> str:
        return f"http://{LOCALHOST}:{self.config.ports.conversations}"

    @property
    def conversations_grpc_target(self) -> str:
        return f"{LOCALHOST}:{self.config.ports.conversations_grpc}"

    @property
    def agent_urls(self) -> list[str]:
        return [f"http://{LOCALHOST}:{port}" for port in self.agent_ports]

    @property
    def agent_url(self) -> str:
        return self.agent_urls[0]

    @property
    def offline_model_url(self) -> str:
        return f"http://{LOCALHOST}:{self.config.ports.offline_model}/v1"

    def log_path(self, name: str) -> Path:
        return self.config.log_path / f"{name}.log"

    # ---- lifecycle
    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> Stack:
        nginx_binary()  # fail before starting anything when nginx is missing
        try:
            self._start_database()
            self._say("applying migrations")
            self._migrate()
            self._say("starting the services")
            for name in self.service_names():
                self._add(self._service(name)).start()
            self._wait_ready(list(self.processes.values()))
            # Last, so the gateway's /healthz answering means the whole stack is ready.
            self._say("starting the gateway")
            gateway = self._add(self._gateway("gateway", self._gateway_settings())).start()
            self._wait_ready([gateway])
        except BaseException:
            self.stop()
            raise
        return self

    def _say(self, what: str) -> None:
        if self.config.echo:
            print(f"devstack: {what}", flush=True)

    def stop(self) -> None:
        """Stops everything this stack started, newest first (gateway ... Postgres)."""
        for process in reversed(list(self.processes.values())):
            process.stop()

    def service_names(self) -> list[str]:
        names = ["auth", "conversations"]
        if self.config.uses_offline_model:
            names.append("offline-model")
        names += [self._agent_name(i) for i in range(len(self.agent_ports))]
        return names

    # ---- fault tests
    def kill(self, name: str) -> None:
        """SIGKILL one process (e.g. "conversations", "agent", "agent-2", "gateway")."""
        self.processes[name].kill()

    def start_process(self, name: str) -> None:
        """Starts a stopped or killed process again and waits until it is ready."""
        process = self.processes[name].start()
        self._wait_ready([process])

    def restart(self, name: str) -> None:
        self.processes[name].stop()
        self.start_process(name)

    @contextlib.contextmanager
    def extra_gateway(
        self,
        *,
        auth_rate: RateLimit | None = None,
        send_rate: RateLimit | None = None,
        chatkit_rate: RateLimit | None = None,
        cors_allowed_origins: str | None = None,
        gateway_env: Mapping[str, str] | None = None,
    ) -> Iterator[str]:
        """A second nginx in front of the same services with other settings (gateway/
        defaults.env names in gateway_env, or the shortcuts); yields its URL."""
        base = self._gateway_settings()
        overrides = dict(gateway_env or {})
        for zone, rate in (("AUTH", auth_rate), ("SEND", send_rate), ("CHATKIT", chatkit_rate)):
            overrides |= rate_settings(zone, rate) if rate else {}
        if cors_allowed_origins:
            overrides["CORS_ALLOWED_ORIGINS"] = cors_allowed_origins
        if unknown := set(overrides) - set(base.settings):
            raise ValueError(f"unknown gateway settings: {', '.join(sorted(unknown))}")
        settings = replace(base, port=free_port(), settings={**base.settings, **overrides})
        process = self._gateway(f"gateway-{settings.port}", settings).start()
        try:
            self._wait_ready([process])
            yield f"http://{LOCALHOST}:{settings.port}"
        finally:
            process.stop()

    # ---- parts
    def _add(self, process: ManagedProcess) -> ManagedProcess:
        self.processes[process.name] = process
        return process

    def _start_database(self) -> None:
        cfg = self.config
        if cfg.database_url:
            self.database_url = cfg.database_url
            return
        port = cfg.ports.postgres if port_is_free(cfg.ports.postgres) else free_port()
        self._say(f"starting the embedded Postgres ({cfg.data_path / 'pg'}, port {port})")
        server = postgres.embedded_postgres(
            cfg.data_path, port, self.log_path("postgres"), cfg.echo
        )
        self._add(server).start()
        self._wait_ready([server])
        server_url = f"postgresql://postgres@{LOCALHOST}:{port}/postgres"
        self.database_url = postgres.ensure_database(server_url)

    def _migrate(self) -> None:
        """Both services' migrations, concurrently (each takes its own advisory lock)."""
        runs = [
            self._python(f"migrate-{service}", f"{service}.migrate", {})
            for service in ("auth", "conversations")
        ]
        try:
            for run in runs:
                run.start()
            for run in runs:
                if run.wait_exit(self.config.ready_timeout) != 0:
                    raise RuntimeError(f"{run.name} failed:\n{run.tail()}")
        finally:
            for run in runs:
                run.stop()

    def _service(self, name: str) -> ManagedProcess:
        cfg, ports = self.config, self.config.ports
        jwks = f"{self.auth_url}/.well-known/jwks.json"
        if name == "auth":
            keys = cfg.data_path / "keys"
            env = {
                "PORT": str(ports.auth),
                "JWT_KEYS_DIR": str(keys),
                "AGENT_CLIENT_SECRET": self._agent_client_secret(),
            }
            return self._python(name, "auth", env, ready=f"{self.auth_url}/readyz")
        if name == "conversations":
            env = {
                "PORT": str(ports.conversations),
                "GRPC_PORT": str(ports.conversations_grpc),
                "AUTH_JWKS_URL": jwks,
            }
            return self._python(name, "conversations", env, f"{self.conversations_url}/readyz")
        if name == "offline-model":
            env = {
                "PORT": str(ports.offline_model),
                "OFFLINE_MODEL_TOKENS_PER_SECOND": str(cfg.model_tokens_per_second),
            }
            ready = f"http://{LOCALHOST}:{ports.offline_model}/healthz"
            return self._python(name, "offline_model", env, ready)
        port = self.agent_ports[self._agent_index(name)]
        env = {
            "PORT": str(port),
            "CONVERSATIONS_GRPC_TARGET": self.conversations_grpc_target,
            "AUTH_JWKS_URL": jwks,
            "AUTH_URL": self.auth_url,
            "AGENT_CLIENT_SECRET": self._agent_client_secret(),
        }
        if cfg.uses_offline_model:
            env |= {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": self.offline_model_url}
        return self._python(name, "agent", env, f"http://{LOCALHOST}:{port}/readyz")

    def _agent_client_secret(self) -> str:
        """The agent's client secret at auth: made once, kept beside the dev keys."""
        path = self.config.data_path / "keys" / "agent-client-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def _python(
        self, name: str, module: str, env: dict[str, str], ready: str | None = None
    ) -> ManagedProcess:
        cfg = self.config
        base = {
            "ENVIRONMENT": cfg.environment,
            "LOG_LEVEL": cfg.log_level,
            "HOST": LOCALHOST,
            "DATABASE_URL": self.database_url,
            "PYTHONUNBUFFERED": "1",
        }
        service = name.split("-")[1] if name.startswith("migrate-") else name
        service = "agent" if service.startswith("agent") else service
        return ManagedProcess(
            name,
            [sys.executable, "-m", module],
            env={**base, **env, **cfg.env, **cfg.service_env.get(service, {})},
            cwd=cfg.repo_root,
            ready=http_ok(ready) if ready else None,
            log_path=self.log_path(name),
            echo=cfg.echo,
        )

    def _gateway_settings(self) -> GatewaySettings:
        cfg, ports = self.config, self.config.ports
        return GatewaySettings(
            port=ports.gateway,
            auth=f"{LOCALHOST}:{ports.auth}",
            conversations=f"{LOCALHOST}:{ports.conversations}",
            agents=tuple(f"{LOCALHOST}:{port}" for port in self.agent_ports),
            static_root=cfg.repo_root / "gateway" / "static",
            settings=cfg.gateway_settings(),
            worker_processes=cfg.gateway_workers,
        )

    def _gateway(self, name: str, settings: GatewaySettings) -> ManagedProcess:
        return nginx_process(
            name,
            settings,
            repo_root=self.config.repo_root,
            workdir=self.config.data_path / "nginx" / name,
            log_path=self.log_path(name),
            echo=self.config.echo,
        )

    @staticmethod
    def _agent_name(index: int) -> str:
        return "agent" if index == 0 else f"agent-{index + 1}"

    @staticmethod
    def _agent_index(name: str) -> int:
        return 0 if name == "agent" else int(name.rsplit("-", 1)[1]) - 1

    def _wait_ready(self, processes: list[ManagedProcess]) -> None:
        """Waits for all at once (they start in parallel); the first failure is raised."""
        timeout = self.config.ready_timeout
        pool = ThreadPoolExecutor(max_workers=max(1, len(processes)))
        try:
            for future in [pool.submit(p.wait_ready, timeout) for p in processes]:
                future.result()
        finally:
            # Not waiting: on Ctrl-C, stop() ends the processes and so the waiters.
            pool.shutdown(wait=False, cancel_futures=True)
