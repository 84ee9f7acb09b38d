"""MCP servers' tools in the registry, over real connections: a stdio server (a child
process of the connection) and a streamable HTTP one (a process the test starts)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from agent.tools import ToolContext, ToolRegistry, default_tools
from agent.tools.mcp import McpServers, tool_name
from agent.tools.mcp_config import McpServer
from chat_testkit.plugin import starts_processes
from chat_testkit.processes import ARTIFACTS
from devstack.processes import SERVICE_PORT_SETTINGS, ManagedProcess

SERVER_SCRIPT = str(Path(__file__).with_name("mcp_server.py"))
STDIO = McpServer(command=sys.executable, args=[SERVER_SCRIPT], env={"MCP_SERVER_NAME": "one"})


@pytest.fixture
async def registry() -> AsyncIterator[ToolRegistry]:
    tools = default_tools()
    tools.timeout_seconds = 3.0
    servers = McpServers({"demo": STDIO}, tools)
    await servers.start(wait_seconds=20)
    yield tools
    await servers.close()


async def test_a_stdio_servers_tools_are_listed_under_its_name(registry: ToolRegistry) -> None:
    assert set(registry.names()) == {
        "get_current_time",
        *(f"demo__{name}" for name in ("add", "whoami", "pid", "slow", "steps", "broken")),
    }
    add = next(spec for spec in registry.specs() if spec["name"] == "demo__add")
    assert add["description"] == "Adds two numbers."
    assert add["parameters"]["required"] == ["a", "b"]


async def test_a_call_gets_the_servers_text(registry: ToolRegistry) -> None:
    assert await registry.run("demo__add", '{"a": 2, "b": 3}') == "5"
    assert await registry.run("demo__whoami", "{}") == "I am one"


async def test_a_servers_progress_notifications_reach_the_tool_context(
    registry: ToolRegistry,
) -> None:
    updates: list[str] = []

    async def progress(text: str) -> None:
        updates.append(text)

    result = await registry.run("demo__steps", "{}", ToolContext(progress=progress))

    assert result == "three steps done"
    assert updates == ["step 1 of 3", "step 2 of 3", "step 3 of 3"]


async def test_a_tool_error_and_a_deadline_are_results_the_model_reads(
    registry: ToolRegistry,
) -> None:
    assert (
        await registry.run("demo__broken", "{}")
        == "error: Error executing tool broken: broken on purpose"
    )
    assert await registry.run("demo__slow", "{}") == (
        "error: the tool demo__slow did not answer within 3 s"
    )
    assert await registry.run("demo__add", '{"a": 1, "b": 1}') == "2"  # still connected


async def test_a_dead_server_is_an_error_result_then_reconnected(registry: ToolRegistry) -> None:
    pid = int(await registry.run("demo__pid", "{}"))
    os.kill(pid, signal.SIGKILL)

    result = await registry.run("demo__pid", "{}")

    assert result == "error: the MCP server 'demo' is unavailable right now"
    for _ in range(100):  # the connection task starts a new server process
        result = await registry.run("demo__pid", "{}")
        if not result.startswith("error"):
            break
        await asyncio.sleep(0.1)
    assert int(result) != pid


async def test_a_server_that_never_starts_adds_no_tools_and_blocks_nothing() -> None:
    tools = default_tools()
    servers = McpServers({"gone": McpServer(command=sys.executable, args=["-c", "pass"])}, tools)
    await servers.start(wait_seconds=2)
    try:
        assert tools.names() == ["get_current_time"]
    finally:
        await servers.close()


# A stdio server that takes SLOW_START_SECONDS to start (a Python one takes 3-6 s here).
SLOW_START_SECONDS = 4
SLOW_SERVER = McpServer(
    command=sys.executable,
    args=[
        "-c",
        f"import runpy, time; time.sleep({SLOW_START_SECONDS}); "
        f"runpy.run_path({SERVER_SCRIPT!r}, run_name='__main__')",
    ],
)


async def test_a_slow_server_holds_the_start_no_longer_than_the_wait_then_joins() -> None:
    tools = default_tools()
    servers = McpServers({"late": SLOW_SERVER}, tools)
    started = time.monotonic()

    await servers.start(wait_seconds=0.5)

    try:
        assert time.monotonic() - started < SLOW_START_SECONDS
        assert tools.names() == ["get_current_time"]  # the agent serves without its tools
        await asyncio.wait_for(servers.connections[0].connected.wait(), 30)
        assert await tools.run("late__whoami", "{}") == "I am test-mcp"
    finally:
        await servers.close()


async def test_closing_while_a_server_is_still_starting_does_not_wait_for_it() -> None:
    servers = McpServers({"late": SLOW_SERVER}, default_tools())
    await servers.start(wait_seconds=0.1)
    started = time.monotonic()

    await servers.close()

    assert time.monotonic() - started < SLOW_START_SECONDS


def test_names_follow_the_model_apis_rules() -> None:
    assert tool_name("files", "read.file v2") == "files__read_file_v2"
    assert len(tool_name("files", "x" * 100)) == 64


@pytest.fixture(scope="module")
@starts_processes
def http_server() -> Iterator[str]:
    """Ready once it reports the port it listens on (no path of an MCP server answers 200)."""
    server = ManagedProcess(
        "agent-tests-mcp-http",
        [sys.executable, SERVER_SCRIPT, "--http"],
        env={"MCP_SERVER_NAME": "web"},
        log_path=ARTIFACTS / "agent-tests-mcp-http.log",
        port_settings=SERVICE_PORT_SETTINGS,
    )
    try:
        server.start().wait_ready(timeout=30)
        yield server.url("/mcp")
    finally:
        server.stop()


async def test_a_streamable_http_servers_tools_are_called(http_server: str) -> None:
    tools = default_tools()
    servers = McpServers({"web": McpServer(url=http_server)}, tools)
    await servers.start(wait_seconds=20)
    try:
        assert await tools.run("web__whoami", "{}") == "I am web"
        assert await tools.run("web__add", '{"a": 40, "b": 2}') == "42"
    finally:
        await servers.close()
