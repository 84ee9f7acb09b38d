"""CLIENT_TOOLS: tools the ChatKit client runs (in the user's browser), as JSON keyed
by the tool's name:

    CLIENT_TOOLS='{"get_selection": {"description": "The text the user selected.",
                   "parameters": {"type": "object", "properties": {}}}}'

The model is offered them like any tool. Over ChatKit a call to one ends the turn with
a pending `client_tool_call` item; `threads.add_client_tool_output` resumes it
(agent/chatkit/client_tools.py). Over REST there is no client to run it: the model
reads that it is not available.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.tools.registry import NO_PARAMETERS, Tool, ToolContext, ToolError, ToolRegistry


class ClientTool(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    parameters: dict[str, Any] = Field(default_factory=lambda: dict(NO_PARAMETERS))


ClientTools = dict[str, ClientTool]


def add_client_tools(tools: ToolRegistry, declared: ClientTools) -> None:
    for name, spec in declared.items():

        async def unavailable(_: dict[str, Any], __: ToolContext, name: str = name) -> str:
            raise ToolError(f"the tool {name} runs in the chat client, which is not connected")

        tools.add(Tool(name, spec.description, unavailable, dict(spec.parameters), on_client=True))
