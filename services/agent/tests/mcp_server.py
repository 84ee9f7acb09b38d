"""A tiny MCP server for the agent's tests (stdio by default, `--http PORT` for streamable HTTP).

Tools: `add` (two numbers), `whoami` (this server's name, from MCP_SERVER_NAME), `pid` (so a
test can kill it), `slow` (sleeps past any test deadline),
`steps` (three progress notifications), `broken` (always an error result).
"""

from __future__ import annotations

import asyncio
import os
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer(os.environ.get("MCP_SERVER_NAME", "test-mcp"))


@server.tool()
def add(a: float, b: float) -> str:
    """Adds two numbers."""
    return f"{a + b:g}"


@server.tool()
def whoami() -> str:
    """Says which test server answered."""
    return f"I am {server.name}"


@server.tool()
def pid() -> str:
    """This server process's id."""
    return str(os.getpid())


@server.tool()
async def slow() -> str:
    """Takes a minute."""
    await asyncio.sleep(60)
    return "finally"


@server.tool()
async def steps(ctx: Context) -> str:
    """Reports its progress in three steps."""
    for step in (1, 2, 3):
        await ctx.report_progress(step, 3, f"step {step} of 3")
    return "three steps done"


@server.tool()
def broken() -> str:
    """Always fails."""
    raise ToolError("broken on purpose")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
