"""The model, through the `openai` SDK: one `AsyncOpenAI` per process, streaming only.

The SDK does what it is good at (base URL, auth, timeout, retries on 429/5xx
and connection errors, which it only does before a stream starts). The
streamed events are parsed here with orjson straight off the wire instead of
through the SDK's per-event pydantic models: that validation was a third of
the CPU of a turn (see README), and we only need a few fields of each event.

Both API styles are normalised to the same events: `TextDelta`, `ToolCall`,
`Usage`, and a final `Finish`. Failures raise `ModelError` (`timeout` tells a
timeout from any other failure), with a message fit for the end user.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx2
import openai
import orjson
from chat_common.tracing import model_call_span
from opentelemetry.trace import StatusCode

from agent.attachment_parts import responses_content
from agent.settings import Settings

Json = dict[str, Any]


@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ReasoningDelta:
    text: str  # a piece of the model's reasoning summary (models that give one)


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model produced it

    def as_chat(self) -> Json:
        """The stored (and Chat Completions) shape of a tool call."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(slots=True)
class Usage:
    input_tokens: int
    output_tokens: int
    model: str = ""  # set by ModelClient: the model the call asked for

    def span_attributes(self) -> dict[str, int]:
        return {
            "gen_ai.usage.input_tokens": self.input_tokens,
            "gen_ai.usage.output_tokens": self.output_tokens,
        }


@dataclass(slots=True)
class Finish:
    reason: str  # "stop", "length", "tool_calls", ...


ModelEvent = TextDelta | ReasoningDelta | ToolCall | Usage | Finish


class ModelError(Exception):
    """The model failed or timed out; `detail` is safe to show the end user."""

    def __init__(self, detail: str, *, timeout: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.timeout = timeout


ApiStyle = Literal["chat_completions", "responses"]


class ModelClient:
    """Streams one model call; stateless, shared by every request of the process."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        *,
        model: str,
        api_style: ApiStyle,
        max_output_tokens: int,
        reasoning_summary: bool = False,
    ) -> None:
        self.client = client
        self.reasoning_summary = reasoning_summary
        self.model = model
        self.api_style: ApiStyle = api_style
        self.max_output_tokens = max_output_tokens

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelClient:
        # aiohttp under the SDK: less CPU per turn than its default httpx transport (one
        # socket write per request instead of two, a lighter pool); figures in
        # docs/benchmarks.md.
        aiohttp = settings.openai_http_transport == "aiohttp"
        client = openai.AsyncOpenAI(
            http_client=openai.DefaultAioHttpClient() if aiohttp else None,
            api_key=settings.model_api_key(),
            base_url=settings.openai_base_url,
            timeout=settings.openai_timeout_seconds,
            max_retries=settings.openai_max_retries,
        )
        return cls(
            client,
            model=settings.openai_model,
            api_style=settings.openai_api_style,
            max_output_tokens=settings.openai_max_output_tokens,
            reasoning_summary=settings.openai_reasoning_summary,
        )

    async def close(self) -> None:
        await self.client.close()

    async def stream(
        self,
        messages: Sequence[Json],
        *,
        tools: Sequence[Json] = (),
        model: str | None = None,
        tool_choice: str | None = None,
    ) -> AsyncGenerator[ModelEvent, None]:
        """One streamed model call on Chat Completions-shaped `messages` (and tool specs);
        `model` overrides the configured one, `tool_choice` names a tool it must call."""
        model = model or self.model
        if self.api_style == "responses":
            body = self._responses_body(model, messages, tools, tool_choice)
            path, parse = "/responses", _responses
        else:
            body = self._chat_body(model, messages, tools, tool_choice)
            path, parse = "/chat/completions", _chat
        span = model_call_span(model, "chat" if path == "/chat/completions" else "responses")
        try:
            response = await self._open(path, body)
            try:
                async for event in parse(_sse_batches(response)):
                    if isinstance(event, Usage):
                        event.model = model
                        span.set_attributes(event.span_attributes())
                    yield event
            except httpx2.TimeoutException:
                raise ModelError("the model timed out", timeout=True) from None
            except httpx2.HTTPError:
                raise ModelError("the model's stream broke off") from None
            finally:
                await response.aclose()
        except ModelError as exc:
            span.set_status(StatusCode.ERROR, exc.detail)
            raise
        finally:
            span.end()

    async def _open(self, path: str, body: Json) -> httpx2.Response:
        try:
            return await self.client.post(
                path, cast_to=httpx2.Response, content=orjson.dumps(body), stream=True
            )
        except openai.APITimeoutError:
            raise ModelError("the model timed out", timeout=True) from None
        except openai.APIStatusError as exc:
            raise ModelError(_status_detail(exc.status_code, exc.code)) from None
        except openai.APIError:
            raise ModelError("could not reach the model") from None

    def _chat_body(
        self, model: str, messages: Sequence[Json], tools: Sequence[Json], tool_choice: str | None
    ) -> Json:
        body: Json = {
            "model": model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": self.max_output_tokens,
        }
        if tools:
            body["tools"] = [{"type": "function", "function": t} for t in tools]
        if tool_choice:
            body["tool_choice"] = {"type": "function", "function": {"name": tool_choice}}
        return body

    def _responses_body(
        self, model: str, messages: Sequence[Json], tools: Sequence[Json], tool_choice: str | None
    ) -> Json:
        body: Json = {
            "model": model,
            "input": responses_input(messages),
            "stream": True,
            "store": False,  # the conversations service is the only history
            "max_output_tokens": self.max_output_tokens,
        }
        if tools:
            body["tools"] = [{"type": "function", **t} for t in tools]
        if tool_choice:
            body["tool_choice"] = {"type": "function", "name": tool_choice}
        if self.reasoning_summary:
            body["reasoning"] = {"summary": "auto"}
        return body


def _status_detail(status: int, code: str | None = None) -> str:
    if code == "insufficient_quota":
        return "the model's usage quota is used up; ask the operator to raise it"
    if status == 429:
        return "the model is rate limited; try again later"
    if status in (401, 403):
        return "the model refused our credentials"
    return f"the model failed (HTTP {status})"


async def _sse_batches(response: httpx2.Response) -> AsyncIterator[list[Json]]:
    """The JSON `data:` payloads of an SSE stream up to `[DONE]`, one list per network read.

    Batching by read coalesces what arrived together (an instant model sends
    the whole reply in one or two reads) into one delta downstream: one store
    update, one SSE write instead of one per word. A slow model's words still
    arrive one read, and one delta, at a time.

    The body is always read to its end: a connection closed mid-body cannot
    go back to the pool, and a new TCP connection per turn is a measurable cost.
    """
    buffer, done = b"", False
    async for chunk in response.aiter_bytes():
        if done:
            continue
        lines = (buffer + chunk).split(b"\n")
        buffer = lines.pop()
        batch: list[Json] = []
        for line in lines:
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                done = True
                break
            if data:
                try:
                    batch.append(orjson.loads(data))
                except orjson.JSONDecodeError:
                    raise ModelError("the model sent a malformed event") from None
        if batch:
            yield batch


async def _chat(batches: AsyncIterator[list[Json]]) -> AsyncIterator[ModelEvent]:
    """Chat Completions chunks -> normalised events."""
    calls: dict[int, ToolCall] = {}
    finish: str | None = None
    usage: Usage | None = None
    async for batch in batches:
        texts: list[str] = []
        thoughts: list[str] = []
        for chunk in batch:
            if "error" in chunk:
                raise ModelError("the model failed mid-stream")
            if u := chunk.get("usage"):
                usage = Usage(u.get("prompt_tokens") or 0, u.get("completion_tokens") or 0)
            for choice in chunk.get("choices") or ():
                _take_delta(choice.get("delta") or {}, texts, thoughts, calls)
                finish = choice.get("finish_reason") or finish
        if thoughts:
            yield ReasoningDelta("".join(thoughts))
        if texts:
            yield TextDelta("".join(texts))
    if finish is None:
        raise ModelError("the model's stream ended early")
    for call in calls.values():
        yield call
    if usage is not None:
        yield usage
    yield Finish(finish)


def _take_delta(
    delta: Json, texts: list[str], thoughts: list[str], calls: dict[int, ToolCall]
) -> None:
    if text := delta.get("content"):
        texts.append(text)
    # Servers that stream reasoning (vLLM, DeepSeek, Ollama) put it here.
    if thought := delta.get("reasoning_content") or delta.get("reasoning"):
        thoughts.append(thought)
    for part in delta.get("tool_calls") or ():
        _merge_tool_call(calls, part)


def _merge_tool_call(calls: dict[int, ToolCall], part: Json) -> None:
    # Tool calls arrive in fragments keyed by index: id and name first, arguments in pieces.
    index = part.get("index", 0)
    function = part.get("function") or {}
    call = calls.get(index)
    if call is None:
        calls[index] = ToolCall(
            part.get("id") or "", function.get("name") or "", function.get("arguments") or ""
        )
        return
    call.id = call.id or part.get("id") or ""
    call.name = call.name or function.get("name") or ""
    call.arguments += function.get("arguments") or ""


async def _responses(batches: AsyncIterator[list[Json]]) -> AsyncIterator[ModelEvent]:
    """Responses API events -> normalised events."""
    calls: list[ToolCall] = []
    final: list[ModelEvent] = []
    async for batch in batches:
        texts: list[str] = []
        thoughts: list[str] = []
        for event in batch:
            if not final:
                _response_event(event, texts, calls, final, thoughts)
        if thoughts:
            yield ReasoningDelta("".join(thoughts))
        if texts:
            yield TextDelta("".join(texts))
    if not final:
        raise ModelError("the model's stream ended early")
    for item in final:
        yield item


def _response_event(
    event: Json,
    texts: list[str],
    calls: list[ToolCall],
    final: list[ModelEvent],
    thoughts: list[str],
) -> None:
    kind = event.get("type")
    if kind == "response.output_text.delta":
        if text := event.get("delta"):
            texts.append(text)
    elif kind == "response.reasoning_summary_text.delta":
        if text := event.get("delta"):
            thoughts.append(text)
    elif kind == "response.output_item.done":
        item = event.get("item") or {}
        if item.get("type") == "function_call":
            name, arguments = item.get("name") or "", item.get("arguments") or ""
            calls.append(ToolCall(item.get("call_id") or "", name, arguments))
    elif kind in ("response.completed", "response.incomplete"):
        response = event.get("response") or {}
        final.extend(calls)
        if u := response.get("usage"):
            final.append(Usage(u.get("input_tokens") or 0, u.get("output_tokens") or 0))
        reason = "stop" if kind == "response.completed" else "length"
        final.append(Finish("tool_calls" if calls else reason))
    elif kind in ("response.failed", "error"):
        raise ModelError("the model failed mid-stream")


def responses_input(messages: Sequence[Json]) -> list[Json]:
    """Chat Completions messages as Responses API input items (one item per message or call)."""
    items: list[Json] = []
    for message in messages:
        role = message["role"]
        if role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": message["tool_call_id"],
                    "output": message.get("content") or "",
                }
            )
            continue
        if message.get("content"):
            items.append({"role": role, "content": responses_content(message["content"])})
        for call in message.get("tool_calls") or ():
            items.append(
                {
                    "type": "function_call",
                    "call_id": call["id"],
                    "name": call["function"]["name"],
                    "arguments": call["function"]["arguments"],
                }
            )
    return items
