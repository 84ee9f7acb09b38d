"""Client tools across real agent replicas: the client tool call is made through one
agent process and its output sent to another; the turn goes on there from the rows in the
database (nothing of the pending call is in either process's memory)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from chatkit.types import ThreadAddClientToolOutputParams, ThreadsAddClientToolOutputReq

from services.agent.tests.conftest import AgentFactory, Service, Stack
from services.agent.tests.test_chatkit import ChatKit, done_items

CLIENT_TOOLS = {"get_selection": {"description": "The text the user selected."}}


@pytest.fixture(scope="module")
def replicas(make_agent: AgentFactory) -> tuple[Service, Service]:
    tools = orjson.dumps(CLIENT_TOOLS).decode()
    return make_agent("client-tools-a", CLIENT_TOOLS=tools), make_agent(
        "client-tools-b", CLIENT_TOOLS=tools
    )


async def test_a_client_tool_output_sent_to_another_replica_finishes_the_turn(
    replicas: tuple[Service, Service], stack: Stack, conversations_service: Service
) -> None:
    one, other = (ChatKit(stack, agent, conversations_service) for agent in replicas)
    token = stack.user()

    thread_id, streamed = await one.new_thread(token, "what? [[tool:get_selection]]")

    pending = done_items(streamed)[-1]
    assert (pending["type"], pending["status"], pending["name"]) == (
        "client_tool_call",
        "pending",
        "get_selection",
    )

    params = ThreadAddClientToolOutputParams(thread_id=thread_id, result="hello world")
    resumed = await other.events(token, ThreadsAddClientToolOutputReq(params=params))

    answer = done_items(resumed)[-1]
    assert answer["type"] == "assistant_message"
    assert answer["content"][0]["text"] == "Tool get_selection said: hello world"
    messages: list[dict[str, Any]] = (await one.rest(token, f"/{thread_id}/messages")).json()[
        "items"
    ]
    assert [m["role"] for m in messages][-2:] == ["tool", "assistant"]
    assert messages[-2]["content"] == "hello world"
