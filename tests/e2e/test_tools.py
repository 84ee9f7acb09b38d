"""Tools through the real gateway, with two agent replicas behind nginx: an MCP server's
tool called for the offline model (`[[tool:NAME]]`) and sent back on the next turn, and a
client tool call completed through `threads.add_client_tool_output`."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from chat_testkit.plugin import DatabaseFactory
from devstack import Stack

from tests.helpers.gateway import GatewayClient, thread_create
from tests.helpers.stacks import own_stack

MCP_SERVER = Path(__file__).parents[2] / "services" / "agent" / "tests" / "mcp_server.py"
MCP_SERVERS = {
    "demo": {
        "command": sys.executable,
        "args": [str(MCP_SERVER)],
        "env": {"MCP_SERVER_NAME": "e2e"},
    }
}
CLIENT_TOOLS = {"get_selection": {"description": "The text the user selected."}}
ASK_WHOAMI = "who? [[tool:demo__whoami]]"
WHOAMI_ANSWER = "Tool demo__whoami said: I am e2e"


@pytest.fixture(scope="module")
def tools_stack(
    make_database: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    agent = {
        "MCP_SERVERS": json.dumps(MCP_SERVERS),
        "MCP_CONNECT_SECONDS": "30",
        "CLIENT_TOOLS": json.dumps(CLIENT_TOOLS),
    }
    with own_stack(
        "tools", make_database, tmp_path_factory, service_env={"agent": agent}, agent_replicas=2
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def tools_gateway(tools_stack: Stack) -> AsyncIterator[GatewayClient]:
    async with GatewayClient(tools_stack.gateway_url) as client:
        await until_both_replicas_have_the_mcp_tools(client)
        yield client


async def until_both_replicas_have_the_mcp_tools(gateway: GatewayClient) -> None:
    """Startup waits MCP_CONNECT_SECONDS at most: on a slow machine a server's tools may
    come later. Four answers in a row with the tool: both replicas have it (round robin)."""
    user = await gateway.sign_up()
    conversation = await gateway.create_conversation(user)
    in_a_row = 0
    for _ in range(120):
        reply = (await gateway.send(user, conversation["id"], ASK_WHOAMI)).json()
        in_a_row = in_a_row + 1 if reply["assistant_message"]["content"] == WHOAMI_ANSWER else 0
        if in_a_row == 4:
            return
    raise AssertionError("the MCP server's tools never reached both agent replicas")


def done_items(events: list[Any]) -> list[Any]:
    return [e["item"] for e in events if e["type"] == "thread.item.done"]


async def test_an_mcp_tool_is_called_and_replayed_on_the_next_turn(
    tools_gateway: GatewayClient,
) -> None:
    user = await tools_gateway.sign_up()
    conversation = (await tools_gateway.create_conversation(user))["id"]

    first = await tools_gateway.send(user, conversation, ASK_WHOAMI)

    assert first.json()["assistant_message"]["content"] == WHOAMI_ANSWER
    stored = await tools_gateway.messages(user, conversation)
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored[2]["content"] == "I am e2e"

    second = await tools_gateway.send(user, conversation, "and now?")

    # The system prompt, the first user message, the call, its result, the answer and
    # this message: the tool round went back to the model (4 messages without it).
    content = second.json()["assistant_message"]["content"]
    assert content == 'You said: "and now?". I received 6 messages.'


async def test_a_client_tool_call_is_completed_by_its_output(
    tools_gateway: GatewayClient,
) -> None:
    user = await tools_gateway.sign_up()
    text = "what did I select? [[tool:get_selection]]"
    create = thread_create(text)
    for attempt in range(3):  # round robin: some outputs reach the other replica
        events = await tools_gateway.chatkit(user, create)
        pending = done_items(events)[-1]
        assert (pending["type"], pending["status"]) == ("client_tool_call", "pending")
        thread_id = pending["thread_id"]

        output = {
            "type": "threads.add_client_tool_output",
            "params": {"thread_id": thread_id, "result": f"selection {attempt}"},
        }
        resumed = await tools_gateway.chatkit(user, output)

        answer = done_items(resumed)[-1]
        assert answer["type"] == "assistant_message"
        assert answer["content"][0]["text"] == f"Tool get_selection said: selection {attempt}"
        history = await tools_gateway.messages(user, thread_id)
        assert [m["role"] for m in history][-2:] == ["tool", "assistant"]
