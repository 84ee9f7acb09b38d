"""Server-Sent Events as the tests read them: one parser for a whole body or a live stream.

Every stream the project serves (the agent's REST turns, ChatKit) carries one JSON document
per event, so `data` is decoded. Lines follow the SSE format: `event:` names the event
("message" when absent), `data:` lines are joined with newlines, a blank line ends the event,
lines starting with `:` are comments. `id:` and `retry:` (digits only) are settings of the
stream, not of one event: each event carries the last id and reconnection delay the stream had
set by then (as a browser's `lastEventId`), even from a block with no data. An event the stream
never ended with a blank line is not an event (a cut stream must not look whole).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

DEFAULT_EVENT = "message"


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: Any
    id: str | None = None  # the last event id at this event (what Last-Event-ID resumes from)
    retry: int | None = None  # the reconnection delay (ms) the stream last asked for
    # time.monotonic() when the client had the whole event: for latency and ordering checks.
    at: float = field(default_factory=time.monotonic, compare=False)


class _Decoder:
    """Fed one line at a time; answers the event a blank line completes."""

    def __init__(self) -> None:
        self.event: str = DEFAULT_EVENT
        self.data: list[str] = []
        self.last_id: str | None = None
        self.retry: int | None = None

    def feed(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
        elif name == "id" and "\x00" not in value:
            self.last_id = value
        elif name == "retry" and value.isdigit():
            self.retry = int(value)
        return None  # comments (":…") and unknown fields are ignored, as browsers do

    def _dispatch(self) -> SseEvent | None:
        event, data = self.event, self.data
        self.event, self.data = DEFAULT_EVENT, []
        if not data:
            return None
        return SseEvent(event, json.loads("\n".join(data)), self.last_id, self.retry)


def _events(lines: Iterable[str]) -> Iterator[SseEvent]:
    decoder = _Decoder()
    for line in lines:
        if (event := decoder.feed(line)) is not None:
            yield event


def parse_sse(body: str) -> list[SseEvent]:
    """The events of a whole SSE body (a response read to its end)."""
    return list(_events(body.splitlines()))


def sse_data(body: str) -> list[Any]:
    """Just the decoded payloads, for streams whose events are typed inside (ChatKit)."""
    return [event.data for event in parse_sse(body)]


async def iter_sse(response: httpx.Response) -> AsyncIterator[SseEvent]:
    """The events of a streaming response, each as soon as it is complete."""
    decoder = _Decoder()
    async for line in response.aiter_lines():
        if (event := decoder.feed(line)) is not None:
            yield event
