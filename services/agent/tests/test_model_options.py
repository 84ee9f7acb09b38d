"""In process: what a turn asks of the model beyond the messages (its model, a forced
tool), reasoning summaries in both API styles, and quota errors that read as such."""

from __future__ import annotations

import uuid

import httpx2
import orjson
import pytest
from agent.context import RequestContext
from agent.history import user_content
from agent.model import Finish, ModelError, ReasoningDelta, TextDelta
from agent.turn_events import ReplyReasoning, TurnOptions
from chat.conversations.v1 import conversations_pb2 as pb

from services.agent.tests.fake_model import ScriptedModel, says
from services.agent.tests.fakes import FakeConversations, make_pipeline
from services.agent.tests.test_model_parsers import CLOCK, HI, Model, chat_chunk, sse


async def test_a_chosen_model_and_forced_tool_go_in_the_chat_request() -> None:
    chat = Model("chat_completions")
    client = chat.client(lambda: httpx2.Response(200, content=sse(chat_chunk("ok", "stop"))))

    events = [e async for e in client.stream(HI, tools=[CLOCK], model="big", tool_choice="clock")]

    (body,) = chat.requests
    assert body["model"] == "big"
    assert body["tool_choice"] == {"type": "function", "function": {"name": "clock"}}
    assert events[-1] == Finish("stop")


async def test_a_forced_tool_in_the_responses_shape() -> None:
    responses = Model("responses")
    done = {"type": "response.completed", "response": {}}
    client = responses.client(lambda: httpx2.Response(200, content=sse(done)))

    _ = [e async for e in client.stream(HI, tools=[CLOCK], tool_choice="clock")]

    (body,) = responses.requests
    assert body["model"] == "m"  # the configured model when none is chosen
    assert body["tool_choice"] == {"type": "function", "name": "clock"}


async def test_chat_reasoning_content_is_a_reasoning_delta() -> None:
    chat = Model("chat_completions")

    events = await chat.events(
        sse(chat_chunk(reasoning_content="Let me think.")), sse(chat_chunk("Yes.", "stop"))
    )

    assert events == [ReasoningDelta("Let me think."), TextDelta("Yes."), Finish("stop")]


async def test_responses_reasoning_summary_is_a_reasoning_delta() -> None:
    responses = Model("responses")
    thought = {"type": "response.reasoning_summary_text.delta", "delta": "Hmm."}
    text = {"type": "response.output_text.delta", "delta": "Yes."}
    done = {"type": "response.completed", "response": {}}

    events = await responses.events(sse(thought), sse(text, done))

    assert events == [ReasoningDelta("Hmm."), TextDelta("Yes."), Finish("stop")]


async def test_an_exhausted_quota_reads_as_one() -> None:
    chat = Model("chat_completions")
    error = {
        "error": {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"}
    }
    client = chat.client(lambda: httpx2.Response(429, content=orjson.dumps(error)))

    with pytest.raises(ModelError, match="quota is used up"):
        _ = [e async for e in client.stream(HI)]


def test_a_user_message_without_quotes_or_tags_is_its_text() -> None:
    payload = '{"item":{"type":"user_message","content":[{"type":"input_text","text":"hi"}]}}'
    message = pb.Message(role="user", content="hi", payload_json=payload)

    assert user_content(message) == "hi"


async def test_reasoning_summaries_are_asked_for_when_configured() -> None:
    responses = Model("responses")
    done = {"type": "response.completed", "response": {}}
    client = responses.client(lambda: httpx2.Response(200, content=sse(done)))
    client.reasoning_summary = True

    _ = [e async for e in client.stream(HI)]

    assert responses.requests[0]["reasoning"] == {"summary": "auto"}


@pytest.mark.parametrize("shown", [True, False])
async def test_reasoning_reaches_only_a_consumer_that_asks_for_it(shown: bool) -> None:
    store = FakeConversations()
    pipeline = make_pipeline(store, ScriptedModel([ReasoningDelta("Hmm."), *says("Yes.")]))
    ctx = RequestContext(user_id=uuid.uuid4())
    conversation_id = store.conversation(ctx.user_id)
    turn = await pipeline.start_turn(ctx, conversation_id, "why?")

    options = TurnOptions(reasoning=shown)
    async with pipeline.reply(ctx, turn.assistant_message, options=options) as events:
        seen = [event async for event in events]

    reasoning = [e for e in seen if isinstance(e, ReplyReasoning)]
    assert reasoning == ([ReplyReasoning("Hmm.")] if shown else [])  # REST has no event for it
