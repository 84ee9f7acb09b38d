"""In process: client tools (CLIENT_TOOLS). A call to one ends the ChatKit turn with a
pending `client_tool_call` item; `threads.add_client_tool_output`, served by a new server
over the stored rows alone, stores the output as the call's result and the reply goes on."""

from __future__ import annotations

import uuid

from agent.chatkit.client_tools import ONE_AT_A_TIME
from agent.model import Finish, ToolCall
from agent.tools import ToolRegistry, default_tools
from agent.tools.client import ClientTool, add_client_tools
from chatkit.types import (
    AssistantMessageItem,
    ClientToolCallItem,
    ThreadAddClientToolOutputParams,
    ThreadsAddClientToolOutputReq,
)

from services.agent.tests.fake_model import ScriptedModel, Step, calls_tool, says
from services.agent.tests.test_chatkit_server import ChatKit, create, done_items

SELECTION = ClientTool(description="The text the user selected.")


def with_client_tools() -> ToolRegistry:
    tools = default_tools()
    add_client_tools(tools, {"get_selection": SELECTION, "get_location": SELECTION})
    return tools


def output(thread_id: str, result: object) -> ThreadsAddClientToolOutputReq:
    return ThreadsAddClientToolOutputReq(
        params=ThreadAddClientToolOutputParams(thread_id=thread_id, result=result)
    )


async def test_a_client_tool_call_ends_the_turn_pending_then_its_output_resumes_it() -> None:
    user = uuid.uuid4()
    model = ScriptedModel(calls_tool("get_selection"), says("You selected it."))
    chatkit = ChatKit(model, tools=with_client_tools())

    events = await chatkit.events(user, create("what did I select?"))

    pending = done_items(events)[-1]
    assert isinstance(pending, ClientToolCallItem)
    assert (pending.status, pending.name, pending.call_id) == ("pending", "get_selection", "call_1")
    assert len(model.calls) == 1  # nothing ran the tool here
    thread_id = pending.thread_id

    resumed = await chatkit.events(user, output(thread_id, {"text": "hello world"}))

    answer = done_items(resumed)[-1]
    assert isinstance(answer, AssistantMessageItem)
    assert answer.content[0].text == "You selected it."
    sent = model.calls[1].messages
    assert sent[-1] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": '{"text":"hello world"}',
    }
    # The call's result is stored after the (now completed) client call item.
    stored = chatkit.store.in_conversation(thread_id)
    assert [m.role for m in stored[-2:]] == ["tool", "assistant"]
    assert '"status":"completed"' in stored[-3].payload_json


async def test_the_round_s_server_calls_run_and_a_second_client_call_is_refused() -> None:
    user = uuid.uuid4()
    round_: list[Step] = [
        ToolCall("call_1", "get_current_time", "{}"),
        ToolCall("call_2", "get_selection", "{}"),
        ToolCall("call_3", "get_location", "{}"),
        Finish("tool_calls"),
    ]
    model = ScriptedModel(round_, says("ok"))
    chatkit = ChatKit(model, tools=with_client_tools())

    events = await chatkit.events(user, create("go"))

    pending = done_items(events)[-1]
    assert isinstance(pending, ClientToolCallItem) and pending.call_id == "call_2"
    results = [m for m in chatkit.store.in_conversation(pending.thread_id) if m.role == "tool"]
    assert [m.content[:2] for m in results] == ["20", ONE_AT_A_TIME[:2]]
    assert results[1].content == ONE_AT_A_TIME
