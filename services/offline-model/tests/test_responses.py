"""The Responses API through the real `openai` client, stream and not, with tool calls."""

from __future__ import annotations

from typing import Any

import openai

NOW_TOOL_RESPONSES: Any = {
    "type": "function",
    "name": "now",
    "parameters": {"type": "object", "properties": {}},
}


async def response_deltas(client: openai.AsyncOpenAI, input: Any, **kwargs: Any) -> list[str]:
    """The output_text deltas of a streamed response, as they arrived."""
    stream = await client.responses.create(
        model="offline-model", input=input, stream=True, **kwargs
    )
    return [e.delta async for e in stream if e.type == "response.output_text.delta"]


async def test_stream_sends_the_openai_event_sequence(client: openai.AsyncOpenAI) -> None:
    stream = await client.responses.create(
        model="offline-model", instructions="be brief", input="hi there", stream=True
    )
    events = [event async for event in stream]
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    text = 'You said: "hi there". I received 2 messages.'
    assert "".join(deltas) == text, "instructions count as one message"
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output_text == text
    assert completed.response.usage is not None
    assert completed.response.usage.output_tokens == len(deltas)


async def test_non_streamed_response_carries_the_text_and_usage(
    client: openai.AsyncOpenAI,
) -> None:
    response = await client.responses.create(model="mine", input="just this")
    assert response.output_text == 'You said: "just this". I received 1 messages.'
    assert response.model == "mine"
    assert response.usage is not None and response.usage.input_tokens == 2


async def test_input_items_with_text_parts_are_all_counted(client: openai.AsyncOpenAI) -> None:
    items = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": [{"type": "input_text", "text": "one"}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "two"}]},
    ]
    deltas = await response_deltas(client, items)
    assert "".join(deltas) == 'You said: "two". I received 4 messages.'


async def test_tool_call_round_trip(client: openai.AsyncOpenAI) -> None:
    items: list[Any] = [{"role": "user", "content": "time? [[tool:now]]"}]
    first = await client.responses.create(
        model="offline-model",
        input=items,
        tools=[NOW_TOOL_RESPONSES],
    )
    call = first.output[0]
    assert call.type == "function_call"
    assert (call.name, call.arguments) == ("now", "{}")

    items += [
        {"type": "function_call", "call_id": call.call_id, "name": "now", "arguments": "{}"},
        {"type": "function_call_output", "call_id": call.call_id, "output": "noon"},
    ]
    deltas = await response_deltas(client, items, tools=[NOW_TOOL_RESPONSES])
    assert "".join(deltas) == "Tool now said: noon"


async def test_streamed_tool_call_is_a_function_call_item(client: openai.AsyncOpenAI) -> None:
    stream = await client.responses.create(
        model="offline-model", input="[[tool:now]]", tools=[NOW_TOOL_RESPONSES], stream=True
    )
    events = [event async for event in stream]
    done = [e for e in events if e.type == "response.output_item.done"]
    assert len(done) == 1 and done[0].item.type == "function_call"
    assert done[0].item.name == "now"
    assert events[-1].type == "response.completed"


async def test_max_output_tokens_makes_an_incomplete_response(
    client: openai.AsyncOpenAI,
) -> None:
    stream = await client.responses.create(
        model="offline-model", input="[[words:100]]", max_output_tokens=16, stream=True
    )
    events = [event async for event in stream]
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) == 16
    last = events[-1]
    assert last.type == "response.incomplete"
    assert last.response.incomplete_details is not None
    assert last.response.incomplete_details.reason == "max_output_tokens"
