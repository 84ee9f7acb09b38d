"""A tiny MCP server for the agent's tests (stdio by default, `--http` for streamable HTTP on
any free port, written to $PORT_FILE once it listens: chat_common.bound_ports).

Tools: `add` (two numbers), `whoami` (this server's name, from MCP_SERVER_NAME), `pid` (so a
test can kill it), `slow` (sleeps past any test deadline),
`steps` (three progress notifications), `broken` (always an error result).
"""

from __future__ import annotations

import asyncio
import os
import sys

import uvicorn
from chat_common import bound_ports
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


def serve_http() -> None:
    config = uvicorn.Config(server.streamable_http_app(), host="127.0.0.1", port=0)
    listening = config.bind_socket()
    listening.listen()  # from here a client waits in the backlog until uvicorn accepts it
    bound_ports.report("http", listening.getsockname()[1])
    bound_ports.write_port_file()
    uvicorn.Server(config).run(sockets=[listening])


if __name__ == "__main__":
    if sys.argv[1:] == ["--http"]:
        serve_http()
    else:
        server.run()
