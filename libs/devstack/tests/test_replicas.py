"""AGENT_REPLICAS / CONVERSATIONS_REPLICAS: each replica its own ports, all of them behind
nginx and behind the agent's gRPC target (no processes started here: the ports the
replicas would report are filled in by hand)."""

from __future__ import annotations

from pathlib import Path

import pytest
from devstack import Ports, Stack, StackConfig
from devstack.__main__ import _replicas
from devstack.services import CATALOGUE_BY_NAME, start_waves


def _stack(tmp_path: Path, agents: int, conversations: int) -> Stack:
    config = StackConfig(
        database_url="postgresql://unused",
        ports=Ports.free(),
        data_dir=tmp_path,
        agent_replicas=agents,
        conversations_replicas=conversations,
        offline_model=True,
    )
    stack = Stack(config)
    reported = iter(range(41000, 42000))
    for ports in (*stack.replica_ports.values(), *stack.replica_grpc_ports.values()):
        ports[:] = [port or next(reported) for port in ports]
    return stack


def test_one_replica_keeps_the_plain_target_and_ports(tmp_path: Path) -> None:
    stack = Stack(StackConfig(database_url="postgresql://unused", data_dir=tmp_path))
    assert stack.conversations_grpc_target == f"127.0.0.1:{Ports().conversations_grpc}"
    assert stack.service_names() == ["auth", "conversations", "offline-model", "agent"]


def test_replicas_but_the_first_bind_any_port_and_report_it(tmp_path: Path) -> None:
    config = StackConfig(
        database_url="postgresql://unused", data_dir=tmp_path, conversations_replicas=2
    )
    stack = Stack(config)
    assert stack.replica_ports["conversations"] == [config.ports.conversations, 0]
    assert stack.replica_grpc_ports["conversations"] == [config.ports.conversations_grpc, 0]
    with pytest.raises(RuntimeError, match="conversations has not reported its port"):
        _ = stack.conversations_grpc_target


def test_services_start_after_those_whose_addresses_they_are_given() -> None:
    assert [[spec.name for spec in wave] for wave in start_waves()] == [
        ["conversations", "offline-model"],
        ["auth"],
        ["agent"],
    ]


def test_every_replica_has_its_own_ports_and_process(tmp_path: Path) -> None:
    stack = _stack(tmp_path, 2, 3)
    http = stack.replica_ports["conversations"]
    grpc = stack.replica_grpc_ports["conversations"]
    assert len(set(http + grpc + stack.agent_ports)) == 3 + 3 + 2
    assert stack.service_names() == [
        "auth",
        *("conversations", "conversations-2", "conversations-3"),
        "offline-model",
        *("agent", "agent-2"),
    ]
    target = stack.conversations_grpc_target
    assert target == "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in grpc)
    env = CATALOGUE_BY_NAME["conversations"].env(stack, 2)
    assert env == env | {"PORT": str(http[2]), "GRPC_PORT": str(grpc[2])}
    assert CATALOGUE_BY_NAME["agent"].env(stack, 1)["CONVERSATIONS_GRPC_TARGET"] == target


def test_nginx_lists_every_replica_in_its_upstream(tmp_path: Path) -> None:
    stack = _stack(tmp_path, 2, 2)
    values = stack._gateway_settings().template_values(tmp_path)
    first, second = stack.replica_ports["conversations"]
    assert values["CONVERSATIONS_UPSTREAM"] == (
        f"127.0.0.1:{first} max_fails=0; server 127.0.0.1:{second} max_fails=0"
    )
    assert values["AGENT_UPSTREAM"].count("; server ") == 1


def test_make_run_reads_the_replica_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_REPLICAS", "3")
    assert _replicas("AGENT_REPLICAS") == 3
    monkeypatch.setenv("AGENT_REPLICAS", "")
    assert _replicas("AGENT_REPLICAS") == 1
    for bad in ("0", "two", "99"):
        monkeypatch.setenv("AGENT_REPLICAS", bad)
        with pytest.raises(ValueError, match="AGENT_REPLICAS"):
            _replicas("AGENT_REPLICAS")
