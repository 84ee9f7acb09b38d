"""The test kit's own SSE parser and poll loop: what every suite leans on."""

from __future__ import annotations

import httpx
import pytest
from chat_testkit.polling import poll_until
from chat_testkit.sse import SseEvent, iter_sse, parse_sse, sse_data

BODY = (
    ": a comment, ignored\n"
    "event: delta\n"
    'data: {"text": "Hel"}\n'
    "\n"
    'data: {"type": "thread.created",\n'
    'data:  "n": 1}\n'
    "\n"
    "event: assistant_message\n"
    'data: {"cut": true}\n'  # no blank line: the stream was cut, no event
)


def test_a_body_parses_into_named_events_with_decoded_data() -> None:
    events = parse_sse(BODY)
    assert events == [
        SseEvent("delta", {"text": "Hel"}),
        SseEvent("message", {"type": "thread.created", "n": 1}),
    ]
    assert events[0].at <= events[1].at


def test_sse_data_keeps_only_the_payloads() -> None:
    assert sse_data(BODY) == [{"text": "Hel"}, {"type": "thread.created", "n": 1}]


async def test_a_stream_yields_the_same_events_as_the_body() -> None:
    response = httpx.Response(200, content=BODY.replace("\n", "\r\n").encode())
    assert [event async for event in iter_sse(response)] == parse_sse(BODY)


def test_id_and_retry_hold_for_every_later_event_until_set_again() -> None:
    body = (
        "retry: 1500\n\n"  # a block with no data: no event, but the setting holds
        'id: 3\nevent: delta\ndata: {"text": "Hel"}\n\n'
        'event: delta\ndata: {"text": "lo"}\n\n'
        "id: 11\nretry: soon\nevent: done\ndata: {}\n\n"
    )
    assert parse_sse(body) == [
        SseEvent("delta", {"text": "Hel"}, id="3", retry=1500),
        SseEvent("delta", {"text": "lo"}, id="3", retry=1500),
        SseEvent("done", {}, id="11", retry=1500),
    ]


async def test_poll_until_answers_the_first_value_that_is_done() -> None:
    answers = iter([1, 2, 3, 4])

    async def probe() -> int:
        return next(answers)

    assert await poll_until(probe, lambda n: n >= 3, interval=0) == 3


async def test_poll_until_fails_with_the_message_and_the_last_answer() -> None:
    async def never() -> str:
        return "in_progress"

    with pytest.raises(AssertionError, match=r"stayed busy .*'in_progress'"):
        await poll_until(never, lambda s: s == "done", within=0.05, message="stayed busy")
