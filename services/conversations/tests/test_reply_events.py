"""`GET …/messages/{message_id}/events`: a reply followed live through LISTEN/NOTIFY.

The stream is read from the real service process over HTTP, while the reply is written
through the in-process service's gRPC (another "replica" on the same database)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
import psycopg
from chat.conversations.v1 import conversations_pb2 as pb
from chat_testkit.sse import SseEvent, iter_sse
from conversations import replies, store
from conversations.api import replies as replies_api
from conversations.models import MessageRecord
from conversations.reply_events import ReadReply, ReplyListener, follow_reply
from fastapi import FastAPI

from services.conversations.tests.test_reply_cancel import cancel_path

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Rpc, RunningService, User


class EventReader:
    """A reply's events one at a time, through the test kit's SSE parser."""

    def __init__(self, response: httpx.Response) -> None:
        self._events = iter_sse(response)

    async def next(self) -> SseEvent:
        async with asyncio.timeout(5):
            event = await anext(self._events, None)
        assert event is not None, "the stream ended"
        return event

    async def ended(self) -> bool:
        return [event async for event in self._events] == []


def events_path(message: pb.Message) -> str:
    return f"/api/chat/conversations/{message.conversation_id}/messages/{message.id}/events"


@asynccontextmanager
async def follow(
    service: RunningService, user: User, reply: pb.Message, **headers: str
) -> AsyncIterator[EventReader]:
    async with (
        httpx.AsyncClient(base_url=service.url, timeout=10) as http,
        http.stream("GET", events_path(reply), headers={**user.headers, **headers}) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventReader(response)


def reader(conn: psycopg.AsyncConnection[Any], user: User, reply: pb.Message) -> ReadReply:
    """`follow_reply`'s re-read of `reply`, on `conn`."""

    async def read() -> MessageRecord:
        return await replies.get_reply(
            conn,
            user_id=user.id,
            conversation_id=uuid.UUID(reply.conversation_id),
            message_id=uuid.UUID(reply.id),
        )

    return read


async def test_a_follower_gets_the_stored_text_then_each_write_then_done(
    service_process: RunningService, rpc: Rpc, alice: User
) -> None:
    reply = await rpc.reply(alice, "Hel")
    async with follow(service_process, alice, reply) as events:
        first = await events.next()
        await rpc.update(alice, reply, content="Hello")
        second = await events.next()
        await rpc.update(alice, reply, content="Hello world", status="complete")
        third, done = await events.next(), await events.next()
        ended = await events.ended()

    assert (first.event, first.id, first.data) == ("delta", "3", {"text": "Hel"})
    assert (second.event, second.id, second.data) == ("delta", "5", {"text": "lo"})
    assert (third.event, third.id, third.data) == ("delta", "11", {"text": " world"})
    assert (done.event, done.id) == ("done", "11")
    assert done.data["status"] == "complete"
    assert done.data["content"] == "Hello world"
    assert done.data["id"] == reply.id
    assert ended


async def test_last_event_id_resumes_after_that_many_characters(
    service_process: RunningService, rpc: Rpc, alice: User
) -> None:
    reply = await rpc.reply(alice, "Hello")
    await rpc.update(alice, reply, status="complete")

    async with follow(service_process, alice, reply, **{"Last-Event-ID": "3"}) as events:
        resumed, done = await events.next(), await events.next()
    async with (
        httpx.AsyncClient(base_url=service_process.url) as http,
        http.stream(
            "GET", events_path(reply) + "?last_event_id=5", headers=alice.headers
        ) as response,
    ):
        only_done = await EventReader(response).next()

    assert (resumed.event, resumed.id, resumed.data) == ("delta", "5", {"text": "lo"})
    assert (done.event, done.id) == ("done", "5")
    assert (only_done.event, only_done.id) == ("done", "5")


async def test_a_cancel_ends_the_stream_with_the_interrupted_reply(
    service_process: RunningService, rpc: Rpc, alice: User
) -> None:
    reply = await rpc.reply(alice, "Part")
    async with (
        follow(service_process, alice, reply) as events,
        httpx.AsyncClient(base_url=service_process.url) as http,
    ):
        await events.next()
        await http.post(cancel_path(reply), headers=alice.headers)
        done = await events.next()

    assert (done.event, done.id, done.data["status"]) == ("done", "4", "interrupted")


async def test_the_listener_reconnects_and_misses_nothing(
    service_process: RunningService, rpc: Rpc, alice: User, database_url: str
) -> None:
    reply = await rpc.reply(alice, "a")
    async with follow(service_process, alice, reply) as events:
        await events.next()
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'conversations-listener'"
            )
        await rpc.update(alice, reply, content="ab")  # while no listener is connected
        later = await events.next()

    assert (later.event, later.id, later.data) == ("delta", "2", {"text": "b"})


async def test_others_replies_and_user_messages_are_404_before_any_stream(
    service_process: RunningService, rpc: Rpc, alice: User, bob: User
) -> None:
    conv = await rpc.conversation(alice)
    turn = await rpc.turn(alice, conv.id, "hi")
    async with httpx.AsyncClient(base_url=service_process.url) as http:
        by_bob = await http.get(events_path(turn.assistant_message), headers=bob.headers)
        of_user = await http.get(events_path(turn.user_message), headers=alice.headers)
        anonymous = await http.get(events_path(turn.assistant_message))

    assert [by_bob.status_code, of_user.status_code, anonymous.status_code] == [404, 404, 401]


async def test_a_follower_hears_keepalives_and_the_sweep_of_a_lapsed_lease(
    app: FastAPI, rpc: Rpc, alice: User, database_url: str
) -> None:
    listener = replies_api.LISTENER.of(app)
    reply = await rpc.reply(alice, "Orphan")
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        read = reader(conn, alice, reply)

        stream = follow_reply(
            listener, await read(), read, lambda r: r.status, sent=6, keepalive_seconds=0.05
        )
        async with asyncio.timeout(5):
            keepalive = await anext(stream)
            # Its agent is gone: no write for longer than the lease, then a sweep.
            async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as db:
                await db.execute(
                    "UPDATE messages SET updated_at = now() - interval '1 minute' WHERE id = %s",
                    (reply.id,),
                )
                await store.interrupt_stale_replies(db, stale_seconds=15)
            rest = [chunk async for chunk in stream if not chunk.startswith(b":")]

    assert keepalive == b": keepalive\n\n"
    assert rest == [b"event: done\nid: 6\ndata: interrupted\n\n"]


async def test_a_change_between_the_first_read_and_the_subscription_is_not_missed(
    rpc: Rpc, alice: User, database_url: str
) -> None:
    reply = await rpc.reply(alice, "Hel")
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        read = reader(conn, alice, reply)

        first = await read()
        # The reply ends before the follower subscribes: no notification reaches it.
        await rpc.update(alice, reply, content="Hello", status="complete")
        listener = ReplyListener(database_url)  # never started: it hears nothing
        stream = follow_reply(listener, first, read, lambda r: r.status, keepalive_seconds=60)
        async with asyncio.timeout(5):
            chunks = [chunk async for chunk in stream]

    assert b": keepalive\n\n" not in chunks
    assert chunks[-1] == b"event: done\nid: 5\ndata: complete\n\n"
