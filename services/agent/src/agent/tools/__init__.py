"""Tools the model may call: one registry (registry.py) filled by the built-in tools,
TOOL_MODULES (modules.py) and MCP servers (mcp.py)."""

from agent.tools.modules import local_tools
from agent.tools.registry import (
    NO_PARAMETERS,
    Tool,
    ToolContext,
    ToolError,
    ToolFunction,
    ToolRegistry,
)

__all__ = [
    "NO_PARAMETERS",
    "Tool",
    "ToolContext",
    "ToolError",
    "ToolFunction",
    "ToolRegistry",
    "default_tools",
    "local_tools",
]


def default_tools() -> ToolRegistry:
    """The built-in tools alone (tests, and an agent without TOOL_MODULES or MCP_SERVERS)."""
    return local_tools((), timeout_seconds=30.0)
