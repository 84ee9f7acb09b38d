"""The catalogue of our Python services, in the order a stack starts them.

devstack starts what it lists (with the environment each entry builds) and the deployment
checks (tests/deploy) hold the images, compose and Kubernetes to the same names, modules and
ports. A new service is one entry here and its port in `Ports`, then its compose service and
manifests (which those checks compare with this table).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from devstack.processes import SERVICE_PORT_SETTINGS

if TYPE_CHECKING:
    from devstack.config import Ports, StackConfig
    from devstack.stack import Stack

# A service's own settings in a running stack, given the replica (0, 1, ...).
EnvBuilder = Callable[["Stack", int], dict[str, str]]


def _one(_config: StackConfig) -> int:
    return 1


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # process name, services/<name>/, compose service, image and Deployment
    module: str  # `python -m <module>` serves it
    port_field: str  # the `Ports` field of its HTTP port (also the container's port)
    ready_path: str  # answers 200 once the service can take requests
    env: EnvBuilder
    migrate: str | None = None  # `python -m <migrate>` before it starts, for its tables
    grpc_port_field: str | None = None
    replicas: Callable[[StackConfig], int] = _one  # how many a stack runs (0: none)
    dev_only: bool = False  # not part of the product (never deployed to production)
    # Services whose reported ports its settings name: started (and ready) before it.
    needs: tuple[str, ...] = ()

    def port(self, ports: Ports) -> int:
        return int(getattr(ports, self.port_field))

    def grpc_port(self, ports: Ports) -> int | None:
        return int(getattr(ports, self.grpc_port_field)) if self.grpc_port_field else None

    def port_settings(self) -> dict[str, str]:
        """The settings asking for its ports (chat_common.bound_ports reports them)."""
        servers = ("http", "grpc") if self.grpc_port_field else ("http",)
        return {server: SERVICE_PORT_SETTINGS[server] for server in servers}

    def process_name(self, replica: int) -> str:
        """`agent` for the first replica, `agent-2`, `agent-3`, ... for the others."""
        return self.name if replica == 0 else f"{self.name}-{replica + 1}"


def _auth_env(stack: Stack, replica: int) -> dict[str, str]:
    return {
        "PORT": str(stack.replica_ports["auth"][replica]),
        "JWT_KEYS_DIR": str(stack.config.data_path / "keys"),
        "AGENT_CLIENT_SECRET": stack.agent_client_secret(),
        # Account deletion: auth tells conversations to delete the account's data.
        "CONVERSATIONS_GRPC_TARGET": stack.conversations_grpc_target,
    }


def _conversations_env(stack: Stack, replica: int) -> dict[str, str]:
    return {
        "PORT": str(stack.replica_ports["conversations"][replica]),
        "GRPC_PORT": str(stack.replica_grpc_ports["conversations"][replica]),
        "AUTH_JWKS_URL": stack.jwks_url,
    }


def _offline_model_env(stack: Stack, replica: int) -> dict[str, str]:
    return {
        "PORT": str(stack.replica_ports["offline-model"][replica]),
        "OFFLINE_MODEL_TOKENS_PER_SECOND": str(stack.config.model_tokens_per_second),
    }


def _agent_env(stack: Stack, replica: int) -> dict[str, str]:
    env = {
        "PORT": str(stack.replica_ports["agent"][replica]),
        "CONVERSATIONS_GRPC_TARGET": stack.conversations_grpc_target,
        "AUTH_JWKS_URL": stack.jwks_url,
        "AUTH_URL": stack.auth_url,
        "AGENT_CLIENT_SECRET": stack.agent_client_secret(),
        "PUBLIC_URL": stack.gateway_url,  # attachments' upload and preview URLs
    }
    if stack.config.uses_offline_model:
        env |= {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": stack.offline_model_url}
    return env


def _offline_model_replicas(config: StackConfig) -> int:
    return 1 if config.uses_offline_model else 0


def _agent_replicas(config: StackConfig) -> int:
    return config.agent_replicas


def _conversations_replicas(config: StackConfig) -> int:
    return config.conversations_replicas


CATALOGUE: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        "auth",
        "auth",
        "auth",
        "/readyz",
        _auth_env,
        migrate="auth.migrate",
        needs=("conversations",),  # its gRPC address; conversations gets auth's picked port
    ),
    ServiceSpec(
        "conversations",
        "conversations",
        "conversations",
        "/readyz",
        _conversations_env,
        migrate="conversations.migrate",
        grpc_port_field="conversations_grpc",
        replicas=_conversations_replicas,
    ),
    ServiceSpec(
        "offline-model",
        "offline_model",
        "offline_model",
        "/healthz",
        _offline_model_env,
        replicas=_offline_model_replicas,
        dev_only=True,
    ),
    ServiceSpec(
        "agent",
        "agent",
        "agent",
        "/readyz",
        _agent_env,
        replicas=_agent_replicas,
        needs=("auth", "conversations", "offline-model"),
    ),
)
CATALOGUE_BY_NAME = {spec.name: spec for spec in CATALOGUE}


def start_waves(specs: tuple[ServiceSpec, ...] = CATALOGUE) -> list[list[ServiceSpec]]:
    """The services in groups that start together, each after the groups it `needs`."""
    started: set[str] = set()
    waves: list[list[ServiceSpec]] = []
    remaining = list(specs)
    while remaining:
        wave = [spec for spec in remaining if started.issuperset(spec.needs)]
        if not wave:
            raise ValueError(f"services that need each other: {[s.name for s in remaining]}")
        waves.append(wave)
        started |= {spec.name for spec in wave}
        remaining = [spec for spec in remaining if spec not in wave]
    return waves
