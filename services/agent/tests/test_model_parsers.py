"""In process: the model client's stream parsing, on canned SSE bodies.

The real `ModelClient` and `openai.AsyncOpenAI` run over an in-process HTTP transport
(httpx2's MockTransport, which the SDK accepts as its `http_client`): each canned chunk
is one network read, so batching by read is visible too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import httpx2
import openai
import orjson
import pytest
from agent.model import (
    ApiStyle,
    Finish,
    ModelClient,
    ModelError,
    ModelEvent,
    TextDelta,
    ToolCall,
    Usage,
    responses_input,
)

HI = [{"role": "user", "content": "hi"}]
CLOCK = {"name": "clock", "description": "the time", "parameters": {"type": "object"}}


def sse(*events: Any) -> bytes:
    """One network read carrying `events` (JSON values, or raw bytes as they are)."""
    return b"".join(
        e if isinstance(e, bytes) else b"data: " + orjson.dumps(e) + b"\n\n" for e in events
    )


def chat_chunk(content: str | None = None, finish: str | None = None, **delta: Any) -> Any:
    if content is not None:
        delta["content"] = content
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


class Model:
    """A ModelClient whose HTTP answers are canned; `requests` holds the bodies it sent."""

    def __init__(self, api_style: ApiStyle = "chat_completions") -> None:
        self.api_style: ApiStyle = api_style
        self.requests: list[Any] = []

    def client(self, answer: Callable[[], httpx2.Response]) -> ModelClient:
        def handler(request: httpx2.Request) -> httpx2.Response:
            self.requests.append(orjson.loads(request.content))
            return answer()

        http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
        sdk = openai.AsyncOpenAI(
            api_key="test", base_url="http://model.test/v1", http_client=http, max_retries=0
        )
        return ModelClient(sdk, model="m", api_style=self.api_style, max_output_tokens=64)

    async def events(
        self, *reads: bytes, tools: Sequence[Any] = (), fail: Exception | None = None
    ) -> list[ModelEvent]:
        """What the client makes of a 200 answer whose body arrives as `reads`."""

        async def body() -> AsyncIterator[bytes]:
            for read in reads:
                yield read
            if fail is not None:
                raise fail

        client = self.client(lambda: httpx2.Response(200, content=body()))
        return [event async for event in client.stream(HI, tools=tools)]


@pytest.fixture
def chat() -> Model:
    return Model("chat_completions")


@pytest.fixture
def responses() -> Model:
    return Model("responses")


# -- Chat Completions ---------------------------------------------------------------------


async def test_chat_text_in_separate_reads_gives_one_delta_per_read(chat: Model) -> None:
    events = await chat.events(sse(chat_chunk("Hel")), sse(chat_chunk("lo", finish="stop")))

    assert events == [TextDelta("Hel"), TextDelta("lo"), Finish("stop")]


async def test_chat_text_arriving_in_one_read_is_one_delta(chat: Model) -> None:
    events = await chat.events(sse(chat_chunk("a"), chat_chunk("b"), chat_chunk("c", "stop")))

    assert events == [TextDelta("abc"), Finish("stop")]


async def test_chat_an_event_split_across_reads_is_put_back_together(chat: Model) -> None:
    whole = sse(chat_chunk("split", finish="stop"))

    events = await chat.events(whole[:17], whole[17:])

    assert events == [TextDelta("split"), Finish("stop")]


async def test_chat_tool_call_fragments_are_assembled_by_index(chat: Model) -> None:
    first = {"index": 0, "id": "c1", "function": {"name": "clock", "arguments": '{"tz"'}}
    second = {"index": 1, "id": "c2", "function": {"name": "echo", "arguments": "{}"}}
    more = {"index": 0, "function": {"arguments": ': "UTC"}'}}

    events = await chat.events(
        sse(chat_chunk(tool_calls=[first])),
        sse(chat_chunk(tool_calls=[second, more])),
        sse(chat_chunk(finish="tool_calls")),
    )

    assert events == [
        ToolCall("c1", "clock", '{"tz": "UTC"}'),
        ToolCall("c2", "echo", "{}"),
        Finish("tool_calls"),
    ]


async def test_chat_usage_comes_after_the_text_and_before_the_finish(chat: Model) -> None:
    usage = {"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 5}}

    events = await chat.events(sse(chat_chunk("hi", finish="length"), usage))

    assert events == [TextDelta("hi"), Usage(12, 5, model="m"), Finish("length")]


async def test_chat_nothing_after_done_is_read_as_events(chat: Model) -> None:
    events = await chat.events(sse(chat_chunk("x", "stop"), b"data: [DONE]\n\n", chat_chunk("y")))

    assert events == [TextDelta("x"), Finish("stop")]


async def test_chat_an_error_event_mid_stream_is_a_model_error(chat: Model) -> None:
    with pytest.raises(ModelError, match="failed mid-stream"):
        await chat.events(sse(chat_chunk("par")), sse({"error": {"message": "overloaded"}}))


async def test_chat_a_stream_without_a_finish_reason_ended_early(chat: Model) -> None:
    with pytest.raises(ModelError, match="ended early"):
        await chat.events(sse(chat_chunk("cut")))


async def test_chat_a_malformed_event_is_a_model_error(chat: Model) -> None:
    with pytest.raises(ModelError, match="malformed"):
        await chat.events(b"data: {not json\n\n")


async def test_chat_a_read_timeout_mid_stream_is_a_timeout(chat: Model) -> None:
    with pytest.raises(ModelError) as raised:
        await chat.events(sse(chat_chunk("slow")), fail=httpx2.ReadTimeout("read"))

    assert raised.value.timeout


async def test_chat_a_broken_stream_is_a_model_error_but_no_timeout(chat: Model) -> None:
    with pytest.raises(ModelError, match="broke off") as raised:
        await chat.events(sse(chat_chunk("half")), fail=httpx2.RemoteProtocolError("eof"))

    assert not raised.value.timeout


async def test_chat_request_streams_with_usage_and_offers_tools_as_functions(chat: Model) -> None:
    await chat.events(sse(chat_chunk("ok", "stop")), tools=[CLOCK])

    [body] = chat.requests
    assert body["stream"] and body["stream_options"] == {"include_usage": True}
    assert body["messages"] == HI and body["max_tokens"] == 64
    assert body["tools"] == [{"type": "function", "function": CLOCK}]


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        (429, "the model is rate limited; try again later"),
        (401, "the model refused our credentials"),
        (500, "the model failed (HTTP 500)"),
    ],
)
async def test_an_error_status_becomes_a_message_for_the_user(
    chat: Model, status: int, detail: str
) -> None:
    client = chat.client(lambda: httpx2.Response(status, json={"error": {"message": "no"}}))

    with pytest.raises(ModelError) as raised:
        [event async for event in client.stream(HI)]

    assert raised.value.detail == detail


async def test_an_unreachable_model_is_a_model_error(chat: Model) -> None:
    def refuse() -> httpx2.Response:
        raise httpx2.ConnectError("refused")

    with pytest.raises(ModelError, match="could not reach the model"):
        [event async for event in chat.client(refuse).stream(HI)]


# -- Responses API ------------------------------------------------------------------------


def completed(kind: str = "response.completed", **usage: int) -> Any:
    return {"type": kind, "response": {"usage": usage} if usage else {}}


def text(delta: str) -> Any:
    return {"type": "response.output_text.delta", "delta": delta}


async def test_responses_text_deltas_usage_and_finish(responses: Model) -> None:
    events = await responses.events(
        sse(text("Hel")), sse(text("lo"), completed(input_tokens=9, output_tokens=2))
    )

    assert events == [TextDelta("Hel"), TextDelta("lo"), Usage(9, 2, model="m"), Finish("stop")]


async def test_responses_function_calls_finish_as_tool_calls(responses: Model) -> None:
    call = {"type": "function_call", "call_id": "c1", "name": "clock", "arguments": "{}"}

    events = await responses.events(
        sse({"type": "response.output_item.done", "item": call}), sse(completed())
    )

    assert events == [ToolCall("c1", "clock", "{}"), Finish("tool_calls")]


async def test_responses_incomplete_finishes_as_length(responses: Model) -> None:
    events = await responses.events(sse(text("cut"), completed("response.incomplete")))

    assert events == [TextDelta("cut"), Finish("length")]


@pytest.mark.parametrize("kind", ["response.failed", "error"])
async def test_responses_a_failure_event_is_a_model_error(responses: Model, kind: str) -> None:
    with pytest.raises(ModelError, match="failed mid-stream"):
        await responses.events(sse(text("par")), sse({"type": kind}))


async def test_responses_a_stream_that_never_completes_ended_early(responses: Model) -> None:
    with pytest.raises(ModelError, match="ended early"):
        await responses.events(sse(text("cut")))


async def test_responses_request_keeps_nothing_and_offers_flat_tools(responses: Model) -> None:
    await responses.events(sse(completed()), tools=[CLOCK])

    [body] = responses.requests
    assert body["store"] is False and body["max_output_tokens"] == 64
    assert body["input"] == [{"role": "user", "content": "hi"}]
    assert body["tools"] == [{"type": "function", **CLOCK}]


def test_responses_input_turns_calls_and_results_into_their_own_items() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "clock", "arguments": "{}"}}
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "time?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "noon"},
    ]

    assert responses_input(messages) == [
        {"role": "user", "content": "time?"},
        {"type": "function_call", "call_id": "c1", "name": "clock", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "noon"},
    ]
