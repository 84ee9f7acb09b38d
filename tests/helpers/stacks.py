"""A stack of a test module's own: the session stack's test settings (no gateway limits,
cheap password hashing, the offline model) plus what the module needs to change."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import pytest
from chat_testkit.plugin import DatabaseFactory
from devstack import Ports, RateLimit, Stack, StackConfig
from devstack.gateway import NO_LIMITS

# High enough that no test but the rate-limit ones (own gateway) ever meets a limit.
UNLIMITED = RateLimit("1000r/s", burst=1000)
# Cheap password hashing: the tests sign up many users on two shared cores.
FAST_HASHING = {
    "PASSWORD_HASH_MEMORY_KIB": "1024",
    "PASSWORD_HASH_TIME_COST": "1",
    "PASSWORD_HASH_PARALLELISM": "1",
}


@contextmanager
def own_stack(
    name: str,
    make_database: DatabaseFactory,
    tmp_path_factory: pytest.TempPathFactory,
    *,
    env: Mapping[str, str] | None = None,
    service_env: Mapping[str, Mapping[str, str]] | None = None,
    agent_replicas: int = 1,
) -> Iterator[Stack]:
    """A running stack on its own database and free ports; `service_env` adds to (and
    may override) the test defaults per service, `env` is given to every service."""
    per_service = {"auth": dict(FAST_HASHING)}
    for service, values in (service_env or {}).items():
        per_service[service] = {**per_service.get(service, {}), **values}
    config = StackConfig(
        database_url=make_database(f"chat_e2e_{name}"),
        ports=Ports.free(),
        data_dir=tmp_path_factory.mktemp(f"{name}-stack"),
        log_dir=tmp_path_factory.mktemp(f"{name}-logs"),
        gateway_env=NO_LIMITS,
        auth_rate=UNLIMITED,
        send_rate=UNLIMITED,
        chatkit_rate=UNLIMITED,
        offline_model=True,
        env=dict(env or {}),
        service_env=per_service,
        agent_replicas=agent_replicas,
    )
    with Stack(config) as running:
        yield running
