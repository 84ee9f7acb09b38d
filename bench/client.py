"""The load generator's side: users, conversations and turns through HTTP, and the baseline
calls of the offline model with the `openai` client the agent uses.

Only 127.0.0.1 is ever contacted. One `httpx.AsyncClient` per target keeps its HTTP/1.1
connections alive, as a browser or an app server would.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import openai

PASSWORD = "correct horse battery"
MODEL = "gpt-4o-mini"  # the agent's default OPENAI_MODEL; the offline model echoes any id
T = TypeVar("T")


@dataclass(frozen=True)
class User:
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def http_client(base_url: str, connections: int = 256, timeout: float = 60.0) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout)


def model_client(base_url: str) -> openai.AsyncOpenAI:
    """The SDK as the agent builds it (default connection pool: 1,000 connections, 100 kept
    alive), pointed at the offline model."""
    return openai.AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=60.0)


async def gather_limited(jobs: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    """Runs the jobs with at most `limit` at a time; results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def sign_up(gateway: httpx.AsyncClient) -> User:
    body = {"email": f"bench-{uuid.uuid4().hex[:16]}@example.com", "password": PASSWORD}
    registered = await gateway.post("/api/auth/register", json=body)
    registered.raise_for_status()
    login = await gateway.post("/api/auth/login", json=body)
    login.raise_for_status()
    return User(registered.json()["id"], login.json()["access_token"])


async def sign_up_many(gateway: httpx.AsyncClient, count: int) -> list[User]:
    return await gather_limited([lambda: sign_up(gateway)] * count, limit=8)


async def create_conversation(gateway: httpx.AsyncClient, user: User) -> str:
    response = await gateway.post("/api/chat/conversations", json={}, headers=user.headers)
    response.raise_for_status()
    return str(response.json()["id"])


def messages_path(conversation_id: str) -> str:
    return f"/api/chat/conversations/{conversation_id}/messages"


async def send_json(http: httpx.AsyncClient, user: User, conversation_id: str, text: str) -> float:
    """One JSON turn; its latency in seconds (raises unless 201)."""
    started = time.perf_counter()
    response = await http.post(
        messages_path(conversation_id), json={"content": text}, headers=user.headers
    )
    elapsed = time.perf_counter() - started
    if response.status_code != 201:
        raise RuntimeError(f"turn answered {response.status_code}: {response.text[:200]}")
    return elapsed


@dataclass(frozen=True)
class StreamResult:
    first_token: float | None  # seconds from sending to the first `delta` event
    error: str | None  # None when the stream ended with `assistant_message`


async def send_sse(
    http: httpx.AsyncClient, user: User, conversation_id: str, text: str
) -> StreamResult:
    """One SSE turn, read to the end; never raises (errors are counted by the caller)."""
    headers = {**user.headers, "Accept": "text/event-stream"}
    started = time.perf_counter()
    first: float | None = None
    last_event = ""
    try:
        async with http.stream(
            "POST", messages_path(conversation_id), json={"content": text}, headers=headers
        ) as response:
            if response.status_code != 200:
                await response.aread()
                return StreamResult(None, f"HTTP {response.status_code}")
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    last_event = line[7:]
                    if last_event == "delta" and first is None:
                        first = time.perf_counter() - started
    except httpx.HTTPError as exc:
        return StreamResult(first, type(exc).__name__)
    if last_event != "assistant_message":
        return StreamResult(first, f"stream ended with {last_event or 'nothing'}")
    return StreamResult(first, None)


def _prompt(text: str) -> list[Any]:
    return [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": text},
    ]


async def direct_json(model: openai.AsyncOpenAI, text: str) -> float:
    """The floor of a turn: one non-streamed completion of the offline model."""
    started = time.perf_counter()
    await model.chat.completions.create(model=MODEL, messages=_prompt(text))
    return time.perf_counter() - started


async def direct_stream(model: openai.AsyncOpenAI, text: str) -> StreamResult:
    """The floor of a streamed turn: time to the first content chunk, read to the end."""
    started = time.perf_counter()
    first: float | None = None
    try:
        stream = await model.chat.completions.create(
            model=MODEL, messages=_prompt(text), stream=True
        )
        async for chunk in stream:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter() - started
    except openai.OpenAIError as exc:
        return StreamResult(first, type(exc).__name__)
    return StreamResult(first, None)


# ---- ChatKit through the gateway's /chatkit: every turn streamed as ChatKit events
def chatkit_input(text: str) -> dict[str, Any]:
    content = [{"type": "input_text", "text": text}]
    return {"content": content, "attachments": [], "inference_options": {}}


async def chatkit_turn(http: httpx.AsyncClient, user: User, body: dict[str, Any]) -> str:
    """One streamed ChatKit request read to its end; the thread's id (raises unless the
    stream held a finished assistant message and no `error` event)."""
    thread_id = body["params"].get("thread_id", "")
    replied = False
    async with http.stream("POST", "/chatkit", json=body, headers=user.headers) as response:
        if response.status_code != 200:
            await response.aread()
            raise RuntimeError(f"ChatKit answered {response.status_code}: {response.text[:200]}")
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            event = json.loads(line[6:])
            kind = event.get("type")
            if kind == "error":
                raise RuntimeError(f"ChatKit error event: {line[:200]}")
            if kind == "thread.created":
                thread_id = event["thread"]["id"]
            elif kind == "thread.item.done" and event["item"]["type"] == "assistant_message":
                replied = True
    if not replied or not thread_id:
        raise RuntimeError("ChatKit stream ended without an assistant message")
    return str(thread_id)


async def chatkit_create(http: httpx.AsyncClient, user: User, text: str) -> str:
    """`threads.create` with its first message: the new thread's id once the reply is done."""
    body = {"type": "threads.create", "params": {"input": chatkit_input(text)}}
    return await chatkit_turn(http, user, body)


async def chatkit_add(http: httpx.AsyncClient, user: User, thread_id: str, text: str) -> None:
    """`threads.add_user_message` on a thread, read to the end of its reply."""
    params = {"thread_id": thread_id, "input": chatkit_input(text)}
    await chatkit_turn(http, user, {"type": "threads.add_user_message", "params": params})
