"""Chat Completions through the real `openai` client: the reply says what reached the model."""

from __future__ import annotations

import json
from typing import Any

import openai
from openai.types.chat import ChatCompletionMessageParam

NOW_TOOL_CHAT: Any = {
    "type": "function",
    "function": {"name": "now", "parameters": {"type": "object", "properties": {}}},
}


def user(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


async def chat_deltas(
    client: openai.AsyncOpenAI, messages: list[ChatCompletionMessageParam], **kwargs: Any
) -> list[str]:
    """The content deltas of a streamed chat completion, as they arrived."""
    stream = await client.chat.completions.create(
        model="offline-model", messages=messages, stream=True, **kwargs
    )
    return [
        c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content
    ]


async def test_streamed_reply_quotes_the_last_user_message_one_word_per_delta(
    client: openai.AsyncOpenAI,
) -> None:
    deltas = await chat_deltas(
        client,
        [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "hello\nthere"},
        ],
    )
    assert "".join(deltas) == 'You said: "hello\nthere". I received 4 messages.'
    assert deltas[:3] == ["You", " said:", ' "hello']


async def test_non_streamed_reply_reports_word_count_usage(client: openai.AsyncOpenAI) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi there"},
    ]
    completion = await client.chat.completions.create(model="gpt-unknown", messages=messages)
    text = 'You said: "hi there". I received 2 messages.'
    assert completion.choices[0].message.content == text
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gpt-unknown", "the requested model name is echoed"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (4, 8)


async def test_content_given_as_text_parts_is_read(client: openai.AsyncOpenAI) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": [{"type": "text", "text": "in parts"}]}
    ]
    deltas = await chat_deltas(client, messages)
    assert "".join(deltas) == 'You said: "in parts". I received 1 messages.'


async def test_usage_chunk_comes_last_when_asked_for(client: openai.AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model="offline-model",
        messages=user("count me"),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 8
    assert all(c.usage is None for c in chunks[:-1])


async def test_tool_marker_with_tools_makes_a_call_and_the_result_is_quoted(
    client: openai.AsyncOpenAI,
) -> None:
    messages = user("what time is it? [[tool:now]]")
    stream = await client.chat.completions.create(
        model="offline-model", messages=messages, tools=[NOW_TOOL_CHAT], stream=True
    )
    chunks = [chunk async for chunk in stream]
    call = chunks[0].choices[0].delta.tool_calls[0]  # type: ignore[index]
    assert call.function is not None and call.function.name == "now"
    arguments = "".join(
        tc.function.arguments or ""
        for c in chunks
        for tc in c.choices[0].delta.tool_calls or []
        if tc.function
    )
    assert json.loads(arguments) == {}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"

    messages += [
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": call.id or "",
                    "type": "function",
                    "function": {"name": "now", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.id or "", "content": "noon"},
    ]
    deltas = await chat_deltas(client, messages, tools=[NOW_TOOL_CHAT])
    assert "".join(deltas) == "Tool now said: noon"


async def test_non_streamed_tool_call(client: openai.AsyncOpenAI) -> None:
    completion = await client.chat.completions.create(
        model="offline-model", messages=user("[[tool:now]]"), tools=[NOW_TOOL_CHAT]
    )
    message = completion.choices[0].message
    assert message.tool_calls and message.tool_calls[0].function.name == "now"  # type: ignore[union-attr]
    assert completion.choices[0].finish_reason == "tool_calls"


async def test_tool_marker_without_tools_is_an_ordinary_reply(client: openai.AsyncOpenAI) -> None:
    deltas = await chat_deltas(client, user("[[tool:now]]"))
    assert "".join(deltas) == 'You said: "[[tool:now]]". I received 1 messages.'


async def test_max_tokens_cuts_the_reply_with_finish_reason_length(
    client: openai.AsyncOpenAI,
) -> None:
    completion = await client.chat.completions.create(
        model="offline-model", messages=user("[[words:100]]"), max_completion_tokens=4
    )
    assert completion.choices[0].message.content == 'You said: "[[words:100]]". I'
    assert completion.choices[0].finish_reason == "length"
