"""MCP servers' tools in the registry (MCP_SERVERS, see mcp_config.py).

Each server has one long-lived connection per process, owned by its own task
(the `mcp` client's task groups must be entered and left by one task): it
connects, lists the server's tools into the registry as `<server>__<tool>`, and
waits; when a call finds the connection broken it wakes that task, which
reconnects with a growing pause. A call while the server is down fails at once
with a `ToolError` the model reads; the reply still completes. Every call has
the registry's deadline (TOOL_TIMEOUT_SECONDS).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Mapping
from typing import Any, NoReturn

import mcp
import mcp_types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from agent.tools.mcp_config import McpServer
from agent.tools.registry import Tool, ToolContext, ToolError, ToolRegistry

log = logging.getLogger(__name__)

SEPARATOR = "__"
_NOT_A_NAME_CHARACTER = re.compile(r"[^A-Za-z0-9_-]")
_MAX_NAME = 64  # the OpenAI APIs' limit on a function name
_FIRST_RETRY_SECONDS, _MAX_RETRY_SECONDS = 0.5, 30.0


def tool_name(server: str, tool: str) -> str:
    """The name the model sees: the server's prefix and the tool's own, cut to API rules."""
    return (server + SEPARATOR + _NOT_A_NAME_CHARACTER.sub("_", tool))[:_MAX_NAME]


def result_text(result: mcp_types.CallToolResult) -> str:
    """A tool result as the text the model reads: its text parts, else its structured content."""
    texts = [block.text for block in result.content if isinstance(block, mcp_types.TextContent)]
    text = "\n".join(texts)
    if not text and result.structured_content is not None:
        text = str(result.structured_content)
    if len(texts) < len(result.content):
        text += "\n(non-text content left out)"
    return f"error: {text}" if result.is_error else text


class McpConnection:
    """One MCP server: its connection task, its tools in the registry, calls to them."""

    def __init__(self, name: str, config: McpServer, registry: ToolRegistry) -> None:
        self.name = name
        self.config = config
        self.registry = registry
        self.client: mcp.Client | None = None
        self.connected = asyncio.Event()
        self._broken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        # Not a background.spawn task: shutdown's drain must not wait on this endless one.
        self._task = asyncio.create_task(self._keep_connected(), name=f"mcp-{self.name}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task

    async def call(self, tool: str, args: dict[str, Any], context: ToolContext) -> str:
        client = self.client
        if client is None or not self.connected.is_set():
            self._broken.set()  # retry now rather than after the pause
            raise ToolError(f"the MCP server {self.name!r} is unavailable right now")

        async def progress(progress: float, total: float | None, message: str | None) -> None:
            fraction = f"{progress:g}/{total:g}" if total else f"{progress:g}"
            await context.progress(message or fraction)

        try:
            result = await client.call_tool(tool, args, progress_callback=progress)
        except mcp.MCPError as exc:
            if exc.code != mcp_types.CONNECTION_CLOSED:  # the server answered with an error
                raise ToolError(f"the MCP server {self.name!r} refused the call: {exc}") from None
            self._lost(tool)
        except (TimeoutError, asyncio.CancelledError):
            raise
        except Exception:
            self._lost(tool)
        return result_text(result)

    def _lost(self, tool: str) -> NoReturn:
        """The connection broke under a call: reconnect, and tell the model."""
        log.warning("MCP server %s: the connection broke during a call to %s", self.name, tool)
        self.connected.clear()
        self._broken.set()
        raise ToolError(f"the MCP server {self.name!r} is unavailable right now")

    async def _keep_connected(self) -> None:
        pause = _FIRST_RETRY_SECONDS
        while True:
            try:
                async with self._client() as client:
                    await self._list_tools(client)
                    self.client, pause = client, _FIRST_RETRY_SECONDS
                    self._broken.clear()  # calls made while connecting asked for this one
                    self.connected.set()
                    log.info("MCP server %s connected", self.name)
                    await self._broken.wait()
            except Exception as exc:
                log.warning("MCP server %s: connection failed: %r", self.name, exc)
            self.client = None
            self.connected.clear()
            self._broken.clear()
            with contextlib.suppress(TimeoutError):  # a failing call cuts the pause short
                await asyncio.wait_for(self._broken.wait(), pause)
            self._broken.clear()
            pause = min(pause * 2, _MAX_RETRY_SECONDS)

    def _client(self) -> mcp.Client:
        config = self.config
        if config.command is not None:
            params = mcp.StdioServerParameters(
                command=config.command, args=config.args, env=config.env, cwd=config.cwd
            )
            return mcp.Client(params)
        assert config.url is not None
        http = create_mcp_http_client(headers=config.headers)
        transport = streamable_http_client(config.url, http_client=http)
        return mcp.Client(transport)

    async def _list_tools(self, client: mcp.Client) -> None:
        """Adds the server's tools to the registry (once: a reconnect keeps the first list)."""
        known = set(self.registry.names())
        cursor: str | None = None
        while True:
            page = await client.list_tools(cursor=cursor)
            for tool in page.tools:
                name = tool_name(self.name, tool.name)
                if name not in known:
                    self.registry.add(self._tool(name, tool))
                    known.add(name)
            cursor = page.next_cursor
            if cursor is None:
                return

    def _tool(self, name: str, tool: mcp_types.Tool) -> Tool:
        async def call(args: dict[str, Any], context: ToolContext) -> str:
            return await self.call(tool.name, args, context)

        description = tool.description or tool.title or tool.name
        return Tool(name, description, call, dict(tool.input_schema))


class McpServers:
    """Every server of MCP_SERVERS, connected once per process (in the app's lifespan)."""

    def __init__(self, configs: Mapping[str, McpServer], registry: ToolRegistry) -> None:
        self.connections = [McpConnection(name, cfg, registry) for name, cfg in configs.items()]

    async def start(self, wait_seconds: float) -> None:
        """Starts every connection and waits up to `wait_seconds` for their first one."""
        for connection in self.connections:
            connection.start()
        waits = [connection.connected.wait() for connection in self.connections]
        if waits:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits), wait_seconds)
        for connection in self.connections:
            if not connection.connected.is_set():
                log.warning("MCP server %s is not connected yet; retrying", connection.name)

    async def close(self) -> None:
        await asyncio.gather(*(connection.close() for connection in self.connections))
