"""CLIENT_TOOLS: declared client tools are offered to the model like any tool; where no
ChatKit client can run them (REST) the model reads that they are unavailable."""

from __future__ import annotations

import pytest
from agent.settings import Settings
from agent.tools.setup import process_tools
from pydantic import SecretStr

DECLARED = (
    '{"get_selection": {"description": "The text the user selected.",'
    ' "parameters": {"type": "object", "properties": {"max": {"type": "integer"}}}}}'
)


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CLIENT_TOOLS", DECLARED)  # as a deployment sets it
    return Settings(agent_client_secret=SecretStr("s" * 32))


async def test_client_tools_are_offered_and_marked_as_the_clients(settings: Settings) -> None:
    async with process_tools(settings) as tools:
        assert tools is not None
        spec = next(s for s in tools.specs() if s["name"] == "get_selection")
        assert spec["description"] == "The text the user selected."
        assert spec["parameters"]["properties"] == {"max": {"type": "integer"}}
        assert tools.on_client("get_selection") and not tools.on_client("get_current_time")


async def test_without_a_chatkit_client_the_model_reads_the_tool_is_unavailable(
    settings: Settings,
) -> None:
    async with process_tools(settings) as tools:
        assert tools is not None
        result = await tools.run("get_selection", "{}")

    assert result == "error: the tool get_selection runs in the chat client, which is not connected"
