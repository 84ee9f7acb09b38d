"""The per-call log line of the gRPC door: DEBUG when fine, INFO when refused or slow."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
from chat.conversations.v1 import conversations_pb2 as pb
from conversations.grpc import interceptors

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Rpc, User

LOGGER = "conversations.grpc.interceptors"


def _rpc_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """(level, "rpc <method> <status>") of every call logged."""
    return [
        (r.levelname, " ".join(r.getMessage().split()[:3]))
        for r in caplog.records
        if r.name == LOGGER and r.getMessage().startswith("rpc ")
    ]


async def test_a_successful_call_is_logged_at_debug_only(
    rpc: Rpc, alice: User, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        await rpc.conversation(alice)

    assert _rpc_lines(caplog) == [("DEBUG", "rpc CreateConversation OK")]


async def test_a_refused_call_is_logged_at_info(
    rpc: Rpc, alice: User, bob: User, caplog: pytest.LogCaptureFixture
) -> None:
    conv = await rpc.conversation(alice)

    with caplog.at_level(logging.INFO, logger=LOGGER):
        await rpc.error(bob, "GetConversation", pb.GetConversationRequest(conversation_id=conv.id))

    assert _rpc_lines(caplog) == [("INFO", "rpc GetConversation NOT_FOUND")]


async def test_a_slow_successful_call_is_logged_at_info(
    rpc: Rpc, alice: User, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(interceptors, "SLOW_RPC_SECONDS", 0.0)  # every call is "slow"

    with caplog.at_level(logging.INFO, logger=LOGGER):
        await rpc.conversation(alice)

    assert _rpc_lines(caplog) == [("INFO", "rpc CreateConversation OK")]
