"""What the agents depend on fails (conversations, Postgres, the network between): turns in
flight end final or fail cleanly, none stays in progress, new turns work within seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from devstack import Stack

from tests.faults.conftest import FINAL_WITHIN, REPORT, kills
from tests.faults.load import Load, Outcome, settle, stream_turn
from tests.helpers.fault_proxy import FaultProxy
from tests.helpers.gateway import GatewayClient

MID_STREAM = 0.8
pytestmark = pytest.mark.timeout(900)


async def _until_a_turn_completes(client: GatewayClient, within: float = 20.0) -> float:
    """Seconds until a new turn (a new user, a new conversation) completes."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        try:
            user = await client.sign_up()
            conversation = await client.create_conversation(user)
            if (await stream_turn(client, user, conversation["id"])).final == "complete":
                return time.monotonic() - start
        except AssertionError:
            pass  # auth or conversations still down: try again
        await asyncio.sleep(0.2)
    raise AssertionError(f"no turn completed within {within} s")


async def _under_load(
    client: GatewayClient, fault: Callable[[], Awaitable[None]]
) -> tuple[Outcome, float]:
    """Runs `fault` in the middle of a steady load; (the outcome, the recovery time)."""
    load = await Load(client, workers=3).start()
    await asyncio.sleep(MID_STREAM)
    started = time.monotonic()
    await fault()
    await _until_a_turn_completes(client)
    recovered = time.monotonic() - started  # the fault itself included
    turns = await load.stop()
    outcome = await settle(client, turns, within=FINAL_WITHIN + 5)
    assert (outcome.lost, outcome.stuck) == (0, 0), outcome
    return outcome, recovered


async def test_a_killed_conversations_service_leaves_no_reply_in_progress(
    client: GatewayClient, fault_stack: Stack
) -> None:
    async def fault() -> None:
        fault_stack.kill("conversations")
        await asyncio.to_thread(fault_stack.start_process, "conversations")

    for _ in range(max(1, kills() // 4)):
        outcome, recovery = await _under_load(client, fault)
        REPORT.add("conversations SIGKILL + restart", outcome, recovery)
        # A Python process restart is most of it (5-15 s on a busy 2-core machine).
        assert recovery < 20, recovery


async def test_after_a_postgres_restart_no_request_fails_on_a_stale_connection(
    client: GatewayClient, fault_stack: Stack
) -> None:
    async def fault() -> None:
        await asyncio.to_thread(fault_stack.restart, "postgres")

    for _ in range(max(1, kills() // 4)):
        outcome, recovery = await _under_load(client, fault)
        REPORT.add("Postgres restart", outcome, recovery)
        # Once it is back, every pooled connection of every service is stale: with a check
        # on checkout none of them fails a request.
        user = await client.sign_up()
        conversation = await client.create_conversation(user)
        await asyncio.to_thread(fault_stack.restart, "postgres")
        reads = await asyncio.gather(
            *(client.http.get("/api/chat/conversations", headers=user.headers) for _ in range(40))
        )
        turns = await asyncio.gather(
            *(stream_turn(client, user, conversation["id"]) for _ in range(4))
        )
        assert [read.status_code for read in reads] == [200] * 40
        assert [turn.final for turn in turns] == ["complete"] * 4


async def test_a_faulty_network_to_conversations_ends_every_reply(
    client: GatewayClient, fault_stack: Stack, fault_proxy: FaultProxy
) -> None:
    async def latency() -> None:
        fault_proxy.set_latency(0.2)
        await asyncio.sleep(2)
        fault_proxy.heal()

    async def resets() -> None:
        for _ in range(3):
            fault_proxy.reset_connections()
            await asyncio.sleep(0.5)

    async def black_hole() -> None:
        fault_proxy.black_hole()
        await asyncio.sleep(3)
        fault_proxy.heal()
        fault_proxy.reset_connections()  # what a healed network does to a dead TCP flow

    for name, fault in (("latency 200 ms", latency), ("connection resets", resets)):
        outcome, recovery = await _under_load(client, fault)
        REPORT.add(f"agent to conversations: {name}", outcome, recovery)
        assert outcome.server_errors == 0, outcome
    outcome, recovery = await _under_load(client, black_hole)
    REPORT.add("agent to conversations: black hole 3 s", outcome, recovery)
