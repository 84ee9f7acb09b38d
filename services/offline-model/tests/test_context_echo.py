"""What came beside the messages, made visible: `[[echo]]` repeats the system text, the model
and the forced tool; the agent's title request gets a deterministic title; a forced tool is
called."""

from __future__ import annotations

from typing import Any

import openai
from offline_model.script import TITLE_INSTRUCTION


async def _chat_text(client: openai.AsyncOpenAI, **request: Any) -> str:
    reply = await client.chat.completions.create(**request)
    return reply.choices[0].message.content or ""


async def test_echo_says_the_system_text_model_and_tool_choice(
    client: openai.AsyncOpenAI,
) -> None:
    text = await _chat_text(
        client,
        model="gpt-big",
        messages=[
            {"role": "system", "content": "The user's locale is fr-FR."},
            {"role": "user", "content": "hi [[echo]]"},
        ],
    )
    assert 'System: "The user\'s locale is fr-FR.". Model: gpt-big. Tool choice: none.' in text


async def test_echo_works_with_the_responses_api(client: openai.AsyncOpenAI) -> None:
    reply = await client.responses.create(
        model="gpt-big", instructions="be brief", input="hi [[echo]]"
    )
    assert 'System: "be brief". Model: gpt-big.' in reply.output_text


async def test_the_title_request_gets_the_first_six_words(client: openai.AsyncOpenAI) -> None:
    text = await _chat_text(
        client,
        model="offline-model",
        messages=[
            {"role": "system", "content": TITLE_INSTRUCTION + " for this conversation."},
            {"role": "user", "content": "plan a trip to Lisbon in the spring please"},
        ],
    )
    assert text == "Plan a trip to Lisbon in"


async def test_a_forced_tool_is_called(client: openai.AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(
        model="offline-model",
        messages=[{"role": "user", "content": "what time is it?"}],
        tools=[{"type": "function", "function": {"name": "get_current_time", "parameters": {}}}],
        tool_choice={"type": "function", "function": {"name": "get_current_time"}},
    )
    (call,) = reply.choices[0].message.tool_calls or []
    assert call.type == "function" and call.function.name == "get_current_time"
