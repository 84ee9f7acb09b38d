"""Turns under fault: a steady load of streaming turns, and the checks every fault ends
with (nothing lost, nothing stuck) read back from the stored messages."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from chat_testkit.sse import iter_sse

from tests.helpers.gateway import GatewayClient, User

# About 1.5 s of streaming per turn: long enough to be cut in the middle.
STREAMING = "[[words:30]][[slow:20]]"


@dataclass
class Turn:
    user: User
    conversation_id: str
    content: str
    started: float = field(default_factory=time.monotonic)
    ended: float = 0.0
    status: int | None = None  # HTTP status; None: no answer at all
    accepted: bool = False  # the user message came back in the stream (it is stored)
    final: str | None = None  # the final assistant message's status, when the stream had it
    error: str = ""


async def stream_turn(gateway: GatewayClient, user: User, conversation_id: str) -> Turn:
    """One SSE turn with a unique text; never raises (what happened is in the Turn)."""
    turn = Turn(user, conversation_id, f"fault {uuid.uuid4().hex[:10]} {STREAMING}")
    try:
        async with gateway.http.stream(
            "POST",
            f"/api/chat/conversations/{conversation_id}/messages",
            json={"content": turn.content},
            headers={**user.headers, "Accept": "text/event-stream"},
        ) as response:
            turn.status = response.status_code
            async for event in iter_sse(response):
                if event.event == "user_message":
                    turn.accepted = True
                elif event.event == "assistant_message":
                    turn.final = event.data["status"]
    except (httpx.HTTPError, ValueError) as exc:
        turn.error = f"{type(exc).__name__}: {exc}"
    turn.ended = time.monotonic()
    return turn


@dataclass
class Load:
    """`workers` users each sending turns back to back into their own conversation."""

    gateway: GatewayClient
    workers: int = 4
    turns: list[Turn] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> Load:
        for _ in range(self.workers):
            user = await self.gateway.sign_up()
            conversation = await self.gateway.create_conversation(user)
            self._tasks.append(asyncio.create_task(self._run(user, conversation["id"])))
        return self

    async def _run(self, user: User, conversation_id: str) -> None:
        while not self._stop.is_set():
            turn = await stream_turn(self.gateway, user, conversation_id)
            self.turns.append(turn)
            if turn.status is None or turn.status >= 500:
                await asyncio.sleep(0.2)  # a client backing off, not a hot loop

    async def stop(self) -> list[Turn]:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        return self.turns


@dataclass
class Outcome:
    attempted: int
    lost: int  # accepted user messages that are not stored
    stuck: int  # replies still in progress when the check gave up
    server_errors: int  # 5xx answers and dropped connections
    settle_seconds: float  # from the check's start until no reply was in progress


async def settle(gateway: GatewayClient, turns: list[Turn], within: float) -> Outcome:
    """Polls the stored messages (GET, any replica) until no reply of these conversations
    is in progress or `within` seconds passed; counts lost and stuck."""
    start = time.monotonic()
    conversations = {(t.user.id, t.conversation_id): t.user for t in turns}
    while True:
        stored = {key: await gateway.messages(user, key[1]) for key, user in conversations.items()}
        stuck = sum(_in_progress(messages) for messages in stored.values())
        if not stuck or time.monotonic() - start > within:
            break
        await asyncio.sleep(0.25)
    texts = {m["content"] for messages in stored.values() for m in messages if m["role"] == "user"}
    return Outcome(
        attempted=len(turns),
        lost=sum(t.accepted and t.content not in texts for t in turns),
        stuck=stuck,
        server_errors=sum(t.status is None or t.status >= 500 for t in turns),
        settle_seconds=time.monotonic() - start,
    )


def _in_progress(messages: list[dict[str, Any]]) -> int:
    return sum(m["role"] == "assistant" and m["status"] == "in_progress" for m in messages)
