"""Raw ASGI plumbing: read a body, answer JSON, stream SSE with pacing, stall, or cut.

No framework on the hot path: an instant stream is one `http.response.start` and one body
message holding every pre-encoded event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from offline_model.script import Plan, error_body

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_HEADERS = [(b"content-type", b"application/json")]
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
]


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": headers or JSON_HEADERS}
    )
    await send({"type": "http.response.body", "body": body})


async def send_error(
    send: Send, status: int, *, retry_after_ms: int = 0, message: str = ""
) -> None:
    body = error_body(status)
    if message:
        body["error"]["message"] = message
    headers = list(JSON_HEADERS)
    if retry_after_ms > 0:
        headers.append((b"retry-after-ms", str(retry_after_ms).encode()))
    await send_json(send, status, orjson.dumps(body), headers)


async def wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def respond(send: Send, receive: Receive, plan: Plan, body: bytes) -> None:
    """A non-streaming answer, paced, stalled or cut like its stream would be."""
    if plan.instant:
        await send_json(send, 200, body)
        return
    if plan.stall_after is not None:
        await wait_disconnect(receive)  # nothing at all until the client gives up
        return
    if plan.delay:
        try:
            await asyncio.wait_for(wait_disconnect(receive), plan.delay * len(plan.deltas))
            return  # the client left while we were "generating"
        except TimeoutError:
            pass
    if plan.cut_after is not None:
        # Promise the whole body, send part of it, and return: uvicorn drops the connection.
        headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        return
    await send_json(send, 200, body)


async def stream(
    send: Send, receive: Receive, plan: Plan, head: bytes, deltas: list[bytes], tail: bytes
) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
    if plan.instant:
        await send({"type": "http.response.body", "body": head + b"".join(deltas) + tail})
        return
    gone = asyncio.Event()

    async def watch() -> None:
        await wait_disconnect(receive)
        gone.set()

    watcher = asyncio.create_task(watch())
    try:
        await _paced(send, plan, head, deltas, tail, gone)
    finally:
        watcher.cancel()


async def _paced(
    send: Send, plan: Plan, head: bytes, deltas: list[bytes], tail: bytes, gone: asyncio.Event
) -> None:
    await send({"type": "http.response.body", "body": head, "more_body": True})
    last = len(deltas)
    for sent in range(last + 1):
        # K past the reply's length still breaks the stream, just before its end.
        if plan.stall_after is not None and min(plan.stall_after, last) == sent:
            await gone.wait()
            return
        if plan.cut_after is not None and min(plan.cut_after, last) == sent:
            return  # returning mid-response makes uvicorn close the connection
        if sent == last:
            break
        if plan.delay:
            await asyncio.sleep(plan.delay)
        if gone.is_set():
            return
        await send({"type": "http.response.body", "body": deltas[sent], "more_body": True})
    await send({"type": "http.response.body", "body": tail})
