"""In process: the ChatKit server (the SDK's protocol over our store and turn pipeline),
fed JSON requests as `POST /chatkit` would feed it, over the in-memory conversations
service and a scripted model. The process-level tests (test_chatkit.py) keep what only
processes show: HTTP status codes, SSE framing, the real service's storage."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, cast
from uuid import UUID

import orjson
import pytest
from agent.chatkit.context import ChatContext
from agent.chatkit.server import CANCELLED_NOTE, ChatServer
from agent.chatkit.store import ConversationsStore
from agent.context import RequestContext
from agent.model import ModelError, TextDelta
from agent.tools import default_tools
from chat_common.errors import InvalidInput
from chatkit.server import NonStreamingResult, StreamingResult
from chatkit.store import NotFoundError
from chatkit.types import (
    ErrorEvent,
    InferenceOptions,
    ItemFeedbackParams,
    ItemsFeedbackReq,
    ItemsListParams,
    ItemsListReq,
    ThreadAddUserMessageParams,
    ThreadCreatedEvent,
    ThreadCreateParams,
    ThreadGetByIdParams,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadListParams,
    ThreadRetryAfterItemParams,
    ThreadsAddUserMessageReq,
    ThreadsCreateReq,
    ThreadsGetByIdReq,
    ThreadsListReq,
    ThreadsRetryAfterItemReq,
    ThreadStreamEvent,
    UserMessageInput,
    UserMessageTextContent,
)
from pydantic import BaseModel, TypeAdapter

from services.agent.tests.fake_model import ScriptedModel, Stall, calls_tool, says
from services.agent.tests.fakes import FakeConversations, make_pipeline

MAX_CHARS = 100
_EVENT = TypeAdapter[ThreadStreamEvent](ThreadStreamEvent)


def user_input(text: str) -> UserMessageInput:
    return UserMessageInput(
        content=[UserMessageTextContent(text=text)],
        attachments=[],
        inference_options=InferenceOptions(),
    )


def create(text: str = "hello") -> ThreadsCreateReq:
    return ThreadsCreateReq(params=ThreadCreateParams(input=user_input(text)))


def add(thread_id: str, text: str) -> ThreadsAddUserMessageReq:
    return ThreadsAddUserMessageReq(
        params=ThreadAddUserMessageParams(thread_id=thread_id, input=user_input(text))
    )


class ChatKit:
    """A ChatServer per request, as `POST /chatkit` builds it, over one set of fakes."""

    def __init__(self, model: ScriptedModel, **settings: Any) -> None:
        self.store = FakeConversations()
        self.model = model
        self.pipeline = make_pipeline(self.store, model, **settings)

    async def process(self, user: UUID, request: BaseModel) -> StreamingResult | NonStreamingResult:
        server = ChatServer(
            ConversationsStore(cast(Any, self.store), self.pipeline), max_chars=MAX_CHARS
        )
        context = ChatContext(auth=RequestContext(user_id=user))
        return await server.process(request.model_dump_json().encode(), context)

    async def events(self, user: UUID, request: BaseModel) -> list[ThreadStreamEvent]:
        result = await self.process(user, request)
        assert isinstance(result, StreamingResult)
        return [_EVENT.validate_json(chunk.removeprefix(b"data: ")) async for chunk in result]

    async def json(self, user: UUID, request: BaseModel) -> Any:
        result = await self.process(user, request)
        assert isinstance(result, NonStreamingResult)
        return orjson.loads(result.json)

    async def new_thread(self, user: UUID, text: str = "hello") -> str:
        events = await self.events(user, create(text))
        return next(e.thread.id for e in events if isinstance(e, ThreadCreatedEvent))


def types(events: list[ThreadStreamEvent]) -> list[str]:
    return [event.type for event in events]


def done_items(events: list[ThreadStreamEvent]) -> list[Any]:
    return [e.item for e in events if isinstance(e, ThreadItemDoneEvent)]


@pytest.fixture
def alice() -> UUID:
    return uuid.uuid4()


@pytest.fixture
def bob() -> UUID:
    return uuid.uuid4()


# -- a turn -------------------------------------------------------------------------------


async def test_threads_create_streams_the_thread_the_user_item_then_the_reply(
    alice: UUID,
) -> None:
    chatkit = ChatKit(ScriptedModel(says("Hel", "lo")))

    events = await chatkit.events(alice, create("hello"))

    assert [t for t in types(events) if t not in ("stream_options", "thread.updated")] == [
        "thread.created",
        "thread.item.done",
        "thread.item.added",
        "thread.item.updated",
        "thread.item.updated",
        "thread.item.done",
    ]
    user, assistant = done_items(events)
    assert user.type == "user_message" and assistant.type == "assistant_message"
    assert assistant.content[0].text == "Hello"
    threads = [e.thread for e in events if e.type in ("thread.created", "thread.updated")]
    assert all(t.created_at.utcoffset() is not None for t in threads)  # as reloads are


async def test_the_streamed_items_are_the_stored_messages(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(says("Hi ", "there")))

    events = await chatkit.events(alice, create("hello"))

    user, assistant = done_items(events)
    stored_user, stored_reply = (
        chatkit.store.messages[user.id],
        chatkit.store.messages[assistant.id],
    )
    assert (stored_user.role, stored_user.content) == ("user", "hello")
    assert orjson.loads(stored_user.payload_json)["item"]["type"] == "user_message"
    assert (stored_reply.status, stored_reply.content) == ("complete", "Hi there")


async def test_every_delta_updates_the_item_that_was_added(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(says("a", "b", "c")))

    events = await chatkit.events(alice, create())

    added = next(e for e in events if isinstance(e, ThreadItemAddedEvent))
    updates = [e for e in events if isinstance(e, ThreadItemUpdatedEvent)]
    assert {u.item_id for u in updates} == {added.item.id}
    assert [cast(Any, u.update).delta for u in updates] == ["a", "b", "c"]


async def test_a_new_thread_takes_the_title_the_service_gave_it(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(says("ok")))

    thread_id = await chatkit.new_thread(alice, "Plan a trip to Lisbon")

    thread = await chatkit.json(
        alice, ThreadsGetByIdReq(params=ThreadGetByIdParams(thread_id=thread_id))
    )
    assert thread["title"] == "Plan a trip to Lisbon"


async def test_a_second_message_is_answered_with_the_thread_so_far(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(says("first answer"), says("second answer")))
    thread_id = await chatkit.new_thread(alice, "first")

    events = await chatkit.events(alice, add(thread_id, "second"))

    assert done_items(events)[-1].content[0].text == "second answer"
    assert [m["content"] for m in chatkit.model.calls[1].messages] == [
        "first",
        "first answer",
        "second",
    ]


async def test_a_tool_round_shows_a_workflow_then_the_answer(alice: UUID) -> None:
    model = ScriptedModel(calls_tool("get_current_time"), says("It is late."))
    chatkit = ChatKit(model, tools=default_tools())

    events = await chatkit.events(alice, create("time?"))

    # The empty tool-calling step is not a bubble of its own (test_chatkit_work.py: the workflow).
    assert [item.type for item in done_items(events)] == [
        "user_message",
        "workflow",
        "assistant_message",
    ]
    assert done_items(events)[-1].content[0].text == "It is late."


async def test_a_model_failure_ends_the_stream_with_an_error_and_a_failed_reply(
    alice: UUID,
) -> None:
    chatkit = ChatKit(ScriptedModel([TextDelta("par"), ModelError("the model timed out")]))

    events = await chatkit.events(alice, create())

    error = events[-1]
    assert isinstance(error, ErrorEvent) and error.message == "the model timed out"
    reply = chatkit.store.messages[done_items(events)[-1].id]
    assert (reply.status, reply.content) == ("failed", "par")


async def test_a_retry_replaces_the_reply_with_a_new_one(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(says("first try"), says("second try")))
    created = await chatkit.events(alice, create("hello"))
    thread_id = cast(ThreadCreatedEvent, created[0]).thread.id
    user, first = done_items(created)

    retry = ThreadsRetryAfterItemReq(
        params=ThreadRetryAfterItemParams(thread_id=thread_id, item_id=user.id)
    )
    events = await chatkit.events(alice, retry)

    assert done_items(events)[-1].content[0].text == "second try"
    assert first.id not in chatkit.store.messages


async def test_a_client_that_goes_away_leaves_the_reply_interrupted_and_a_hidden_note(
    alice: UUID,
) -> None:
    chatkit = ChatKit(ScriptedModel([TextDelta("so far"), Stall()], says("Sure")))
    result = await chatkit.process(alice, create())
    assert isinstance(result, StreamingResult)
    first_delta = asyncio.Event()

    async def read() -> None:
        async for chunk in result:
            if b"thread.item.updated" in chunk:
                first_delta.set()

    reader = asyncio.create_task(read())
    await first_delta.wait()
    reader.cancel()  # what the server does to a request whose client disconnected
    with pytest.raises(asyncio.CancelledError):
        await reader

    [thread_id] = chatkit.store.conversations
    stored = chatkit.store.in_conversation(thread_id)
    assert [(m.role, m.status, m.content) for m in stored] == [
        ("user", "complete", "hello"),
        ("assistant", "interrupted", "so far"),
        ("system", "complete", CANCELLED_NOTE),  # as the SDK's own server stores it
    ]
    # The next turn's model reads the note; the client never sees it.
    await chatkit.events(alice, add(thread_id, "again"))
    assert {"role": "system", "content": CANCELLED_NOTE} in chatkit.model.calls[1].messages
    page = await chatkit.json(alice, ItemsListReq(params=ItemsListParams(thread_id=thread_id)))
    assert "sdk_hidden_context" not in [item["type"] for item in page["data"]]


# -- reading --------------------------------------------------------------------------------


async def test_threads_list_shows_only_the_users_own_threads_newest_first(
    alice: UUID, bob: UUID
) -> None:
    chatkit = ChatKit(ScriptedModel(says("1"), says("2"), says("3")))
    older = await chatkit.new_thread(alice, "older")
    newer = await chatkit.new_thread(alice, "newer")
    await chatkit.new_thread(bob, "bob's")

    page = await chatkit.json(alice, ThreadsListReq(params=ThreadListParams(limit=10)))

    assert [t["id"] for t in page["data"]] == [newer, older]


async def test_items_list_gives_the_turn_oldest_first(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(says("the answer")))
    thread_id = await chatkit.new_thread(alice, "the question")

    page = await chatkit.json(
        alice, ItemsListReq(params=ItemsListParams(thread_id=thread_id, order="asc"))
    )

    assert [(i["type"], i["content"][0]["text"]) for i in page["data"]] == [
        ("user_message", "the question"),
        ("assistant_message", "the answer"),
    ]


async def test_feedback_is_stored_on_the_message(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(says("good answer")))
    events = await chatkit.events(alice, create())
    thread_id = cast(ThreadCreatedEvent, events[0]).thread.id
    reply = done_items(events)[-1]

    feedback = ItemsFeedbackReq(
        params=ItemFeedbackParams(thread_id=thread_id, item_ids=[reply.id], kind="positive")
    )
    await chatkit.json(alice, feedback)

    assert orjson.loads(chatkit.store.messages[reply.id].payload_json)["feedback"] == "positive"


# -- refused before anything streams ---------------------------------------------------------


async def test_another_users_thread_is_not_found_before_anything_runs(
    alice: UUID, bob: UUID
) -> None:
    chatkit = ChatKit(ScriptedModel(says("private")))
    thread_id = await chatkit.new_thread(alice)

    with pytest.raises(NotFoundError):
        await chatkit.process(bob, add(thread_id, "let me in"))

    assert len(chatkit.store.in_conversation(thread_id)) == 2
    assert len(chatkit.model.calls) == 1


async def test_another_users_items_are_not_found(alice: UUID, bob: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(says("private")))
    thread_id = await chatkit.new_thread(alice)

    with pytest.raises(NotFoundError):
        await chatkit.process(bob, ItemsListReq(params=ItemsListParams(thread_id=thread_id)))


async def test_a_message_over_the_limit_is_invalid_input_and_stores_nothing(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel())

    with pytest.raises(InvalidInput, match=f"longer than {MAX_CHARS}"):
        await chatkit.process(alice, create("x" * (MAX_CHARS + 1)))

    assert chatkit.store.conversations == {} and chatkit.store.messages == {}


async def test_an_empty_message_is_invalid_input(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel())

    with pytest.raises(InvalidInput, match="empty"):
        await chatkit.process(alice, create("   "))
