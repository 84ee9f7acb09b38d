"""Following a reply live, from any replica: Postgres LISTEN/NOTIFY fanned out in-process.

Migration 0007's trigger NOTIFYs `reply_events` with the message id whenever an assistant
reply's text or status changes, whoever wrote it (an agent on any replica, a cancel, the
lease sweeper). Each process holds ONE listening connection (`ReplyListener`), outside
the pool, and wakes the in-process subscribers of that id; a subscriber re-reads the
stored reply and sends what is new (`follow_reply`). A notification carries no text, so
a missed or coalesced one loses nothing: the listener wakes everyone when it
(re)connects, and a follower re-reads at each keepalive too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Final

import orjson
import psycopg
from chat_common.periodic import stop_if_cancelled

from conversations.models import MessageRecord

log = logging.getLogger(__name__)

CHANNEL: Final = "reply_events"  # migration 0007's trigger
KEEPALIVE_SECONDS: Final = 15.0


class ReplyListener:
    """One LISTEN connection per process; `subscribe(message_id)` gives an Event set
    whenever that reply may have changed."""

    def __init__(self, conninfo: str, *, retry_seconds: float = 1.0) -> None:
        self._conninfo = conninfo
        self._retry_seconds = retry_seconds
        self._subscribers: dict[str, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="reply-events-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    @contextmanager
    def subscribe(self, message_id: str) -> Iterator[asyncio.Event]:
        changed = asyncio.Event()
        waiting = self._subscribers.setdefault(message_id, set())
        waiting.add(changed)
        try:
            yield changed
        finally:
            waiting.discard(changed)
            if not waiting:
                self._subscribers.pop(message_id, None)

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except Exception as exc:  # the database restarted, the network dropped
                stop_if_cancelled()
                log.warning("reply events listener lost its connection: %s", exc)
            self.connected.clear()
            await asyncio.sleep(self._retry_seconds)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, application_name="conversations-listener"
        ) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            self.connected.set()
            self._wake_all()  # whatever changed while not listening
            while True:
                async for notify in conn.notifies(timeout=KEEPALIVE_SECONDS):
                    self._wake(notify.payload)
                await conn.execute("SELECT 1")  # a silent spell: is the connection alive?

    def _wake(self, message_id: str) -> None:
        for changed in self._subscribers.get(message_id, ()):
            changed.set()

    def _wake_all(self) -> None:
        for waiting in self._subscribers.values():
            for changed in waiting:
                changed.set()


ReadReply = Callable[[], Awaitable[MessageRecord]]
ToJson = Callable[[MessageRecord], str]


async def follow_reply(
    listener: ReplyListener,
    first: MessageRecord,
    read: ReadReply,
    done_json: ToJson,
    *,
    sent: int = 0,
    keepalive_seconds: float = KEEPALIVE_SECONDS,
) -> AsyncIterator[bytes]:
    """SSE: the reply's text after character `sent` as `delta` events (id: characters
    sent so far), then `done` with the final Message, then the end; `: keepalive`
    while nothing happens. `first` is the reply as read before the stream began."""
    with listener.subscribe(first.id) as changed:
        # `first` was read before this subscription: one re-read after sending it, so a
        # change that landed in between is not left waiting for the next keepalive.
        changed.set()
        reply = first
        while True:
            if len(reply.content) > sent:
                text, sent = reply.content[sent:], len(reply.content)
                yield sse("delta", sent, orjson.dumps({"text": text}).decode())
            if reply.status != "in_progress":
                yield sse("done", sent, done_json(reply))
                return
            try:
                await asyncio.wait_for(changed.wait(), keepalive_seconds)
            except TimeoutError:
                yield b": keepalive\n\n"
            changed.clear()  # before the read: a change after it sets the event again
            reply = await read()


def sse(event: str, event_id: int, data: str) -> bytes:
    return f"event: {event}\nid: {event_id}\ndata: {data}\n\n".encode()
