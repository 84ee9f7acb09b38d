"""An integrator's tool module, as TOOL_MODULES names it (docs/tools.md)."""

from __future__ import annotations

from typing import Any

from agent.tools import ToolContext, ToolError, ToolRegistry

SHOUT_PARAMETERS = {
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "required": ["text"],
}


def register_tools(tools: ToolRegistry) -> None:
    @tools.tool(description="Says the text in capitals.", parameters=SHOUT_PARAMETERS)
    async def shout(args: dict[str, Any], context: ToolContext) -> str:
        if not isinstance(args.get("text"), str):
            raise ToolError("`text` must be a string")
        await context.progress("Shouting...")
        return str(args["text"]).upper()
