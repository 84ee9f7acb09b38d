"""The process's tools, for the app's lifespan: the registry, and its MCP connections
open for as long as the app runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from agent.tools.client import add_client_tools
from agent.tools.mcp import McpServers
from agent.tools.modules import local_tools
from agent.tools.registry import ToolRegistry

if TYPE_CHECKING:
    from agent.settings import Settings


@asynccontextmanager
async def process_tools(settings: Settings) -> AsyncIterator[ToolRegistry | None]:
    """None when TOOLS_ENABLED is off; else every tool, MCP servers connected (or retrying)."""
    if not settings.tools_enabled:
        yield None
        return
    names = settings.tool_module_names()
    tools = local_tools(names, timeout_seconds=settings.tool_timeout_seconds)
    # Their widget action handlers too, so a mistake there stops the start as well
    # (imported here: agent.chatkit imports the tools).
    from agent.chatkit.actions import loaded_actions

    loaded_actions(tuple(names))
    add_client_tools(tools, settings.client_tools)
    servers = McpServers(settings.mcp_servers, tools)
    await servers.start(settings.mcp_connect_seconds)
    try:
        yield tools
    finally:
        await servers.close()
