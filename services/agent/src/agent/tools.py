"""Built-in tools the model may call. Small, harmless, and with no side effects.

A tool is an async function of its JSON arguments returning text. The model's
calls are stored on the assistant message (`tool_calls`) and each result as a
`tool` message whose `tool_calls` holds the one call it answers, so a later
turn can send both back to the model.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

log = logging.getLogger(__name__)

ToolFunction = Callable[[dict[str, Any]], Awaitable[str]]

NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    function: ToolFunction
    parameters: dict[str, Any] = field(default_factory=lambda: dict(NO_PARAMETERS))

    def spec(self) -> dict[str, Any]:
        """The function description offered to the model (API-style neutral)."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


class ToolRegistry:
    def __init__(self, tools: list[Tool]) -> None:
        self._tools = {tool.name: tool for tool in tools}
        self._specs = [tool.spec() for tool in tools]

    def specs(self) -> list[dict[str, Any]]:
        return self._specs

    async def run(self, name: str, arguments: str) -> str:
        """The tool's result as text; failures become a result the model can read."""
        tool = self._tools.get(name)
        if tool is None:
            return f"error: there is no tool named {name!r}"
        try:
            args = orjson.loads(arguments) if arguments.strip() else {}
        except orjson.JSONDecodeError:
            return "error: the arguments are not valid JSON"
        if not isinstance(args, dict):
            return "error: the arguments must be a JSON object"
        try:
            return await tool.function(args)
        except Exception:
            log.exception("tool %s failed", name)
            return f"error: the tool {name} failed"


async def get_current_time(_: dict[str, Any]) -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def default_tools() -> ToolRegistry:
    return ToolRegistry(
        [
            Tool(
                name="get_current_time",
                description="The current date and time (UTC, ISO 8601).",
                function=get_current_time,
            )
        ]
    )
