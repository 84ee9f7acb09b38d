"""The whole stack as real processes: Postgres, migrations, services, offline model, nginx.

`make run` uses it in the foreground on the contract's ports; end-to-end tests and
benchmarks use it as a context manager, the services binding any free port (0) and
reporting it, so the stack starts them in dependency order (services.py `needs`) and
gives each the real addresses of those before it, nginx last:

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
from devstack.processes import ManagedProcess, free_port, port_is_free
from devstack.services import CATALOGUE, ServiceSpec, start_waves

LOCALHOST = "127.0.0.1"


class Stack:
    """Starts everything in order, waits until each part is ready, stops it all in reverse."""

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.processes: dict[str, ManagedProcess] = {}
        self.database_url = ""
        self.replica_ports = {spec.name: self._replica_ports(spec) for spec in CATALOGUE}
        self.replica_grpc_ports = {spec.name: self._replica_grpc_ports(spec) for spec in CATALOGUE}

    # ---- where things are (a port is 0 until its process reported it)
    @property
    def gateway_url(self) -> str:
        return f"http://{LOCALHOST}:{self.config.ports.gateway}"

    @property
    def auth_url(self) -> str:
        return f"http://{LOCALHOST}:{_known('auth', self.replica_ports['auth'][0])}"

    @property
    def jwks_url(self) -> str:
        return f"{self.auth_url}/.well-known/jwks.json"

    @property
    def conversations_url(self) -> str:
        port = _known("conversations", self.replica_ports["conversations"][0])
        return f"http://{LOCALHOST}:{port}"

    @property
    def conversations_grpc_target(self) -> str:
        """One replica: host:port. Several: gRPC's static address list, which the agent's
        round_robin channel spreads calls over and reconnects to one by one (no proxy in
        between to fail or restart, as on Kubernetes with a headless Service)."""
        ports = [_known("conversations", port) for port in self.replica_grpc_ports["conversations"]]
        if len(ports) == 1:
            return f"{LOCALHOST}:{ports[0]}"
        return "ipv4:" + ",".join(f"{LOCALHOST}:{port}" for port in ports)

    @property
    def agent_ports(self) -> list[int]:
        return self.replica_ports["agent"]

    @property
    def agent_urls(self) -> list[str]:
        return [f"http://{LOCALHOST}:{port}" for port in self.agent_ports]

    @property
    def agent_url(self) -> str:
        return self.agent_urls[0]

    @property
    def offline_model_url(self) -> str:
        port = _known("offline-model", self.replica_ports["offline-model"][0])
        return f"http://{LOCALHOST}:{port}/v1"

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
            for wave in start_waves():
                self._start_services(wave)
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
        return [spec.process_name(replica) for spec, replica in self._replicas()]

    def _replica_ports(self, spec: ServiceSpec) -> list[int]:
        """The first replica asks for the service's `Ports` field, the others for any port."""
        count = spec.replicas(self.config)
        return [spec.port(self.config.ports)] + [0] * (count - 1) if count else []

    def _replica_grpc_ports(self, spec: ServiceSpec) -> list[int]:
        first = spec.grpc_port(self.config.ports)
        if first is None or not (count := len(self.replica_ports[spec.name])):
            return []
        return [first] + [0] * (count - 1)

    def _start_services(self, specs: list[ServiceSpec]) -> None:
        """Starts every replica of `specs` together, then records the ports they report
        (which the services started after them are given)."""
        started = [
            (spec, replica, self._add(self._service(spec, replica)).start())
            for spec in specs
            for replica in range(len(self.replica_ports[spec.name]))
        ]
        self._wait_ready([process for _, _, process in started])
        for spec, replica, process in started:
            self.replica_ports[spec.name][replica] = process.ports["http"]
            if spec.grpc_port_field:
                self.replica_grpc_ports[spec.name][replica] = process.ports["grpc"]

    def _replicas(self) -> list[tuple[ServiceSpec, int]]:
        """Every service process of this stack, in start order (catalogue order)."""
        return [
            (spec, replica)
            for spec in CATALOGUE
            for replica in range(len(self.replica_ports[spec.name]))
        ]

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
        # nginx cannot bind port 0 and report it: its port is picked (devstack.processes).
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
        # Postgres is told its port (it reports none it bound): the default, else a picked one.
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
            self._python(f"migrate-{spec.name}", spec.migrate, {}, service=spec.name)
            for spec in CATALOGUE
            if spec.migrate
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

    def _service(self, spec: ServiceSpec, replica: int) -> ManagedProcess:
        return self._python(
            spec.process_name(replica),
            spec.module,
            spec.env(self, replica),
            service=spec.name,
            port_settings=spec.port_settings(),
            ready_path=spec.ready_path,
        )

    def agent_client_secret(self) -> str:
        """The agent's client secret at auth: made once, kept beside the dev keys."""
        path = self.config.data_path / "keys" / "agent-client-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def _python(
        self,
        name: str,
        module: str,
        env: dict[str, str],
        *,
        service: str,
        port_settings: dict[str, str] | None = None,
        ready_path: str | None = None,
    ) -> ManagedProcess:
        cfg = self.config
        base = {
            "ENVIRONMENT": cfg.environment,
            "LOG_LEVEL": cfg.log_level,
            "HOST": LOCALHOST,
            "DATABASE_URL": self.database_url,
            "PYTHONUNBUFFERED": "1",
        }
        return ManagedProcess(
            name,
            [sys.executable, "-m", module],
            env={**base, **env, **cfg.env, **cfg.service_env.get(service, {})},
            cwd=cfg.repo_root,
            log_path=self.log_path(name),
            echo=cfg.echo,
            port_settings=port_settings,
            ready_path=ready_path,
        )

    def _gateway_settings(self) -> GatewaySettings:
        cfg = self.config
        return GatewaySettings(
            port=cfg.ports.gateway,
            auth=self.auth_url.removeprefix("http://"),
            conversations=tuple(
                f"{LOCALHOST}:{port}" for port in self.replica_ports["conversations"]
            ),
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


def _known(service: str, port: int) -> int:
    if not port:
        raise RuntimeError(f"{service} has not reported its port yet (not started)")
    return port
