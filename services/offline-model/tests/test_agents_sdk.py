"""The `openai-agents` SDK's two OpenAI models stream replies (and tool round trips) from it."""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest
from agents import (
    Agent,
    Model,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from openai.types.responses import ResponseTextDeltaEvent

set_tracing_disabled(True)

ModelFactory = Callable[[openai.AsyncOpenAI], Model]
models = pytest.mark.parametrize(
    "make_model",
    [
        lambda c: OpenAIChatCompletionsModel(model="offline-model", openai_client=c),
        lambda c: OpenAIResponsesModel(model="offline-model", openai_client=c),
    ],
    ids=["chat_completions", "responses"],
)


@function_tool
def now() -> str:
    """The current time."""
    return "noon"


@models
async def test_runner_streams_the_reply(
    client: openai.AsyncOpenAI, make_model: ModelFactory
) -> None:
    agent = Agent(name="echo", instructions="be brief", model=make_model(client))
    result = Runner.run_streamed(agent, "hello agent")
    deltas = [
        event.data.delta
        async for event in result.stream_events()
        if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent)
    ]
    text = 'You said: "hello agent". I received 2 messages.'
    assert "".join(deltas) == text
    assert len(deltas) == 8
    assert result.final_output == text


@models
async def test_runner_calls_the_tool_and_quotes_its_result(
    client: openai.AsyncOpenAI, make_model: ModelFactory
) -> None:
    agent = Agent(name="clock", model=make_model(client), tools=[now])
    result = Runner.run_streamed(agent, "what time is it? [[tool:now]]")
    async for _ in result.stream_events():
        pass
    assert result.final_output == "Tool now said: noon"
