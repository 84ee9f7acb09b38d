"""The one tool registry: built-in tools, integrators' tools and MCP servers' tools alike.

A tool is a name, a description, a JSON schema of its arguments and an async
function of those arguments returning text; the function also gets a
`ToolContext` to send progress updates. The model's calls are stored on the
assistant message (`tool_calls`) and each result as a `tool` message whose
`tool_calls` holds the one call it answers, so a later turn can send both back.

Whatever a call does, the model gets text: a `ToolError`'s message as it is (it
is meant for the model), any other failure as a generic error that shows
nothing of the tool's internals, and a call past TOOL_TIMEOUT_SECONDS as a
timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

log = logging.getLogger(__name__)

ProgressFunction = Callable[[str], Awaitable[None]]

NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
DEFAULT_TIMEOUT_SECONDS = 30.0


async def _no_progress(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a running tool may use besides its arguments."""

    progress: ProgressFunction = _no_progress  # a short line for the user ("Searching...")


ToolFunction = Callable[[dict[str, Any], ToolContext], Awaitable[str]]


class ToolError(Exception):
    """A failure the model should read (its message is the tool's result, prefixed)."""


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    function: ToolFunction
    parameters: dict[str, Any] = field(default_factory=lambda: dict(NO_PARAMETERS))
    # Run by the ChatKit client, not here (CLIENT_TOOLS, agent/chatkit/client_tools.py).
    on_client: bool = False

    def spec(self) -> dict[str, Any]:
        """The function description offered to the model (API-style neutral)."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


class ToolRegistry:
    def __init__(
        self, tools: list[Tool] | None = None, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self._tools: dict[str, Tool] = {}
        self._specs: list[dict[str, Any]] | None = None
        for tool in tools or ():
            self.add(tool)

    def add(self, tool: Tool) -> None:
        """Registers `tool`; a second tool with the same name is a mistake, not an override."""
        if tool.name in self._tools:
            raise ValueError(f"a tool named {tool.name!r} is already registered")
        self._tools[tool.name] = tool
        self._specs = None

    def tool(
        self, *, description: str, name: str | None = None, parameters: dict[str, Any] | None = None
    ) -> Callable[[ToolFunction], ToolFunction]:
        """Decorator form of `add`: the function's name unless `name` is given."""

        def register(function: ToolFunction) -> ToolFunction:
            schema = parameters if parameters is not None else dict(NO_PARAMETERS)
            self.add(Tool(name or function.__name__, description, function, schema))
            return function

        return register

    def names(self) -> list[str]:
        return list(self._tools)

    def on_client(self, name: str) -> bool:
        tool = self._tools.get(name)
        return tool is not None and tool.on_client

    def specs(self) -> list[dict[str, Any]]:
        if self._specs is None:
            self._specs = [tool.spec() for tool in self._tools.values()]
        return self._specs

    async def run(self, name: str, arguments: str, context: ToolContext | None = None) -> str:
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
            async with asyncio.timeout(self.timeout_seconds):
                return await tool.function(args, context or ToolContext())
        except ToolError as exc:
            return f"error: {exc}"
        except TimeoutError:
            log.warning("tool %s timed out after %.1f s", name, self.timeout_seconds)
            return f"error: the tool {name} did not answer within {self.timeout_seconds:g} s"
        except Exception:
            log.exception("tool %s failed", name)
            return f"error: the tool {name} failed"
