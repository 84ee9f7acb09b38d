"""Markers in the last user message: slow, long, failing, stalling and cut replies."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import openai
import pytest

Stream = Callable[[openai.AsyncOpenAI, str], Awaitable[list[str]]]


async def _open_stream(client: openai.AsyncOpenAI, api: str, text: str) -> Any:
    if api == "chat":
        return await client.chat.completions.create(
            model="offline-model", messages=[{"role": "user", "content": text}], stream=True
        )
    return await client.responses.create(model="offline-model", input=text, stream=True)


async def deltas_until_error(stream: Any, into: list[str]) -> None:
    """Drain a chat or responses stream's text deltas into `into`, letting its error escape."""
    async for event in stream:
        if getattr(event, "type", None) == "response.output_text.delta":
            into.append(event.delta)
        elif getattr(event, "choices", None) and event.choices[0].delta.content:
            into.append(event.choices[0].delta.content)


async def _chat(client: openai.AsyncOpenAI, text: str) -> list[str]:
    deltas: list[str] = []
    await deltas_until_error(await _open_stream(client, "chat", text), deltas)
    return deltas


async def _responses(client: openai.AsyncOpenAI, text: str) -> list[str]:
    deltas: list[str] = []
    await deltas_until_error(await _open_stream(client, "responses", text), deltas)
    return deltas


both_apis = pytest.mark.parametrize("stream", [_chat, _responses], ids=["chat", "responses"])
api_names = pytest.mark.parametrize("api", ["chat", "responses"])


@both_apis
async def test_slow_marker_paces_the_stream(client: openai.AsyncOpenAI, stream: Stream) -> None:
    started = time.monotonic()
    deltas = await stream(client, "take it easy [[slow:40]]")
    elapsed = time.monotonic() - started
    assert len(deltas) == 10
    assert elapsed >= 10 / 40 * 0.9, f"10 words at 40/s took only {elapsed:.3f}s"


async def test_slow_marker_delays_a_non_streamed_reply(client: openai.AsyncOpenAI) -> None:
    started = time.monotonic()
    reply = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "[[slow:40]]"}]
    )
    elapsed = time.monotonic() - started
    words = len((reply.choices[0].message.content or "").split())  # one delay per word
    assert elapsed >= words / 40 * 0.9, f"{words} words at 40/s took only {elapsed:.3f}s"


@both_apis
async def test_words_marker_appends_numbered_words(
    client: openai.AsyncOpenAI, stream: Stream
) -> None:
    deltas = await stream(client, "[[words:3]]")
    assert "".join(deltas) == 'You said: "[[words:3]]". I received 1 messages. w1 w2 w3'
    assert deltas[-3:] == [" w1", " w2", " w3"]


@pytest.mark.parametrize("code", [429, 500, 503])
async def test_fail_marker_answers_the_status_with_an_openai_error(
    client: openai.AsyncOpenAI, code: int
) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        await _chat(client, f"[[fail:{code}]]")
    assert caught.value.status_code == code
    assert isinstance(caught.value.body, dict) and caught.value.body.get("message")


async def test_fail_marker_fails_a_non_streamed_response(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.InternalServerError):
        await client.responses.create(model="m", input="[[fail:500]]")


@both_apis
async def test_fail_times_fails_k_requests_then_succeeds(
    client: openai.AsyncOpenAI, stream: Stream
) -> None:
    text = f"{uuid.uuid4()} [[fail-times:2:503]]"
    for _ in range(2):
        with pytest.raises(openai.APIStatusError) as caught:
            await stream(client, text)
        assert caught.value.status_code == 503
    assert "".join(await stream(client, text)).startswith("You said:")


async def test_fail_times_is_absorbed_by_sdk_retries(model_url: str) -> None:
    async with openai.AsyncOpenAI(base_url=model_url, api_key="x", max_retries=2) as retrying:
        deltas = await _chat(retrying, f"{uuid.uuid4()} [[fail-times:2:429]]")
    assert "".join(deltas).startswith("You said:")


async def test_failures_hint_a_quick_retry(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        await _chat(client, "[[fail:429]]")
    assert caught.value.response.headers["retry-after-ms"] == "10"


@api_names
async def test_stall_sends_nothing_until_the_client_times_out(
    client: openai.AsyncOpenAI, api: str
) -> None:
    received: list[str] = []
    with pytest.raises(openai.APITimeoutError):
        stream = await _open_stream(client.with_options(timeout=0.3), api, "[[stall]]")
        await deltas_until_error(stream, received)
    assert received == []


async def test_stall_holds_a_non_streamed_reply(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.APITimeoutError):
        await client.with_options(timeout=0.3).responses.create(model="m", input="[[stall]]")


@api_names
async def test_stall_after_streams_k_words_then_times_out(
    client: openai.AsyncOpenAI, api: str
) -> None:
    received: list[str] = []
    with pytest.raises(openai.APITimeoutError):
        stream = await _open_stream(client.with_options(timeout=0.3), api, "[[stall-after:3]]")
        await deltas_until_error(stream, received)
    assert received == ["You", " said:", ' "[[stall-after:3]]".']


@api_names
async def test_cut_after_drops_the_connection_after_k_words(
    client: openai.AsyncOpenAI, api: str
) -> None:
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        stream = await _open_stream(client, api, "[[cut-after:2]]")
        await deltas_until_error(stream, received)
    assert received == ["You", " said:"]


async def test_cut_after_breaks_a_non_streamed_reply(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.APIConnectionError):
        await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "[[cut-after:2]]"}]
        )


async def test_markers_combine(client: openai.AsyncOpenAI) -> None:
    started = time.monotonic()
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        stream = await _open_stream(client, "chat", "[[words:50]] [[slow:50]] [[cut-after:5]]")
        await deltas_until_error(stream, received)
    assert len(received) == 5
    assert time.monotonic() - started >= 5 / 50 * 0.9
