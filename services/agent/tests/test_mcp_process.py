"""Through a real agent process: the model calls an MCP server's tool (the offline model's
`[[tool:NAME]]` marker), the reply completes with the tool's answer, and the next turn
sends the stored call and result back to the model."""

from __future__ import annotations

import sys

import orjson
import pytest
from chat_testkit.polling import poll_until

from services.agent.tests.conftest import AgentFactory, Service, Stack
from services.agent.tests.test_mcp import SERVER_SCRIPT

SERVER = {"command": sys.executable, "args": [SERVER_SCRIPT], "env": {"MCP_SERVER_NAME": "one"}}
ASK_WHOAMI = "who? [[tool:demo__whoami]]"
WHOAMI_ANSWER = "Tool demo__whoami said: I am one"


async def until_connected(stack: Stack, agent: Service) -> None:
    """Readiness waits MCP_CONNECT_SECONDS at most: on a slow machine the server's tools
    may come a little later (a throwaway conversation shows when)."""
    token = stack.user()
    conversation = await stack.new_conversation(token)

    async def reply() -> str:
        response = await stack.send(agent, token, conversation, ASK_WHOAMI)
        return str(response.json()["assistant_message"]["content"])

    await poll_until(
        reply,
        lambda content: content == WHOAMI_ANSWER,
        within=30,
        interval=0.5,
        message="the MCP server's tools never reached the agent",
    )


@pytest.fixture(scope="module")
async def mcp_agent(make_agent: AgentFactory, stack: Stack) -> Service:
    servers = orjson.dumps({"demo": SERVER}).decode()
    agent = make_agent("mcp", MCP_SERVERS=servers, MCP_CONNECT_SECONDS="10")
    await until_connected(stack, agent)
    return agent


async def test_an_mcp_tool_is_called_and_its_result_replayed_next_turn(
    mcp_agent: Service, stack: Stack
) -> None:
    token = stack.user()
    conversation = await stack.new_conversation(token)

    first = await stack.send(mcp_agent, token, conversation, ASK_WHOAMI)

    assert first.status_code == 201, first.text
    reply = first.json()["assistant_message"]
    assert (reply["status"], reply["content"]) == ("complete", WHOAMI_ANSWER)
    stored = await stack.messages(token, conversation)
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored[1]["tool_calls"][0]["function"]["name"] == "demo__whoami"
    assert stored[2]["content"] == "I am one"

    second = await stack.send(mcp_agent, token, conversation, "and now?")

    # The system prompt, the first user message, the call, its result, the answer and
    # this message: the tool round went back to the model (4 messages without it).
    assert second.json()["assistant_message"]["content"] == stack.reply_to("and now?", 6)
