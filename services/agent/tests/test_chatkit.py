"""ChatKit over real processes: threads are conversations, items are messages.

Requests are built with the SDK's own request types and sent to `POST /chatkit` of a real
agent, which talks to a real conversations service (Postgres) and the offline model.
"""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import httpx
import orjson
import pytest
from agent.chatkit.items import STATUS_NOTES
from chat.conversations.v1 import conversations_pb2 as pb
from chat.conversations.v1 import conversations_pb2_grpc as pb_grpc
from chat_testkit.polling import poll_until
from chat_testkit.sse import iter_sse, sse_data
from chatkit.actions import Action
from chatkit.types import (
    FeedbackKind,
    InferenceOptions,
    ItemFeedbackParams,
    ItemsFeedbackReq,
    ItemsListParams,
    ItemsListReq,
    StructuredInputSubmission,
    ThreadAddClientToolOutputParams,
    ThreadAddStructuredInputParams,
    ThreadAddUserMessageParams,
    ThreadCreateParams,
    ThreadCustomActionParams,
    ThreadDeleteParams,
    ThreadGetByIdParams,
    ThreadListParams,
    ThreadRetryAfterItemParams,
    ThreadsAddClientToolOutputReq,
    ThreadsAddStructuredInputReq,
    ThreadsAddUserMessageReq,
    ThreadsCreateReq,
    ThreadsCustomActionReq,
    ThreadsDeleteReq,
    ThreadsGetByIdReq,
    ThreadsListReq,
    ThreadsRetryAfterItemReq,
    ThreadsSyncCustomActionReq,
    ThreadsUpdateReq,
    ThreadUpdateParams,
    UserMessageInput,
    UserMessageTagContent,
    UserMessageTextContent,
)
from pydantic import BaseModel

# The session's real processes come from this directory's conftest (Stack, Service, agent).
Stack = Any
Service = Any

TEXT_DELTA = "assistant_message.content_part.text_delta"


def user_input(text: str) -> UserMessageInput:
    return UserMessageInput(
        content=[UserMessageTextContent(text=text)],
        attachments=[],
        inference_options=InferenceOptions(),
    )


class ChatKit:
    """ChatKit requests as a user sends them, plus the REST view of the same data."""

    def __init__(self, stack: Stack, agent: Service, conversations: Service) -> None:
        self.stack, self.agent, self.conversations = stack, agent, conversations

    async def post(self, token: str, request: BaseModel) -> httpx.Response:
        return await self.raw(token, request.model_dump_json().encode())

    async def raw(self, token: str, body: bytes) -> httpx.Response:
        response: httpx.Response = await self.stack.http.post(
            f"{self.agent.url}/chatkit", content=body, headers=self.stack.auth(token)
        )
        return response

    async def json(self, token: str, request: BaseModel) -> Any:
        response = await self.post(token, request)
        assert response.status_code == 200, response.text
        return orjson.loads(response.content)

    async def events(self, token: str, request: BaseModel) -> list[dict[str, Any]]:
        response = await self.post(token, request)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/event-stream")
        return sse_data(response.text)

    async def new_thread(self, token: str, text: str = "hello") -> tuple[str, list[Any]]:
        """A ChatKit thread with one turn: its id and the streamed events."""
        create = ThreadsCreateReq(params=ThreadCreateParams(input=user_input(text)))
        streamed = await self.events(token, create)
        thread_id = next(e["thread"]["id"] for e in streamed if e["type"] == "thread.created")
        return thread_id, streamed

    async def rest(self, token: str, path: str) -> httpx.Response:
        response: httpx.Response = await self.stack.http.get(
            f"{self.conversations.url}/api/chat/conversations{path}",
            headers=self.stack.auth(token),
        )
        return response

    async def stored_message(self, token: str, thread_id: str, message_id: str) -> Any:
        """The stored message with its payload, read over gRPC with the user's own token."""
        async with grpc.aio.insecure_channel(self.conversations.grpc_target) as channel:
            stub = pb_grpc.ConversationsServiceStub(channel)
            request = pb.GetMessageRequest(conversation_id=thread_id, message_id=message_id)
            metadata = (("authorization", f"Bearer {token}"),)
            return await stub.GetMessage(request, metadata=metadata, timeout=10)


@pytest.fixture
def chatkit(stack: Stack, agent: Service, conversations_service: Service) -> ChatKit:
    return ChatKit(stack, agent, conversations_service)


@pytest.fixture
def alice(stack: Stack) -> str:
    return str(stack.user())


@pytest.fixture
def bob(stack: Stack) -> str:
    return str(stack.user())


def done_items(streamed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["item"] for e in streamed if e["type"] == "thread.item.done"]


async def test_threads_create_streams_a_reply_that_rest_sees(chatkit: ChatKit, alice: str) -> None:
    thread_id, streamed = await chatkit.new_thread(alice, "hello there")

    assert streamed[0]["type"] == "thread.created"
    updates = [e["update"]["type"] for e in streamed if e["type"] == "thread.item.updated"]
    assert "assistant_message.content_part.text_delta" in updates
    user_item, reply_item = done_items(streamed)
    assert reply_item["content"][0]["text"] == 'You said: "hello there". I received 2 messages.'
    titles = [e["thread"].get("title") for e in streamed if e["type"] == "thread.updated"]
    assert titles == ["hello there"]

    listed = (await chatkit.rest(alice, "")).json()["items"]
    assert [(c["id"], c["title"]) for c in listed] == [(thread_id, "hello there")]
    messages = (await chatkit.rest(alice, f"/{thread_id}/messages")).json()["items"]
    assert [(m["id"], m["role"], m["status"], m["content"]) for m in messages] == [
        (user_item["id"], "user", "complete", "hello there"),
        (reply_item["id"], "assistant", "complete", reply_item["content"][0]["text"]),
    ]


async def test_a_rest_conversation_shows_up_in_threads_and_items(
    chatkit: ChatKit, stack: Stack, agent: Service, alice: str
) -> None:
    conversation_id = await stack.new_conversation(alice)
    assert (await stack.send(agent, alice, conversation_id, "from REST")).status_code == 201

    threads = await chatkit.json(alice, ThreadsListReq(params=ThreadListParams()))
    assert [(t["id"], t["title"]) for t in threads["data"]] == [(conversation_id, "from REST")]
    listed = await chatkit.json(
        alice, ItemsListReq(params=ItemsListParams(thread_id=conversation_id, order="asc"))
    )
    stored = await stack.messages(alice, conversation_id)
    assert [(i["id"], i["type"], i["content"][0]["text"]) for i in listed["data"]] == [
        (stored[0]["id"], "user_message", "from REST"),
        (stored[1]["id"], "assistant_message", stored[1]["content"]),
    ]
    thread = await chatkit.json(
        alice, ThreadsGetByIdReq(params=ThreadGetByIdParams(thread_id=conversation_id))
    )
    assert [i["id"] for i in thread["items"]["data"]] == [m["id"] for m in stored]


def every_request_on(thread_id: str, item_id: str) -> list[BaseModel]:
    action = Action[str, Any](type="noop", payload={})
    return [
        ThreadsGetByIdReq(params=ThreadGetByIdParams(thread_id=thread_id)),
        ThreadsUpdateReq(params=ThreadUpdateParams(thread_id=thread_id, title="mine now")),
        ThreadsDeleteReq(params=ThreadDeleteParams(thread_id=thread_id)),
        ItemsListReq(params=ItemsListParams(thread_id=thread_id)),
        ItemsFeedbackReq(
            params=ItemFeedbackParams(thread_id=thread_id, item_ids=[item_id], kind="negative")
        ),
        ThreadsAddUserMessageReq(
            params=ThreadAddUserMessageParams(thread_id=thread_id, input=user_input("hi"))
        ),
        ThreadsRetryAfterItemReq(
            params=ThreadRetryAfterItemParams(thread_id=thread_id, item_id=item_id)
        ),
        ThreadsAddClientToolOutputReq(
            params=ThreadAddClientToolOutputParams(thread_id=thread_id, result={})
        ),
        ThreadsAddStructuredInputReq(
            params=ThreadAddStructuredInputParams(
                thread_id=thread_id, item_id=item_id, input=StructuredInputSubmission()
            )
        ),
        ThreadsCustomActionReq(params=ThreadCustomActionParams(thread_id=thread_id, action=action)),
        ThreadsSyncCustomActionReq(
            params=ThreadCustomActionParams(thread_id=thread_id, action=action)
        ),
    ]


async def test_another_users_thread_is_not_found_on_every_request_type(
    chatkit: ChatKit, alice: str, bob: str
) -> None:
    thread_id, streamed = await chatkit.new_thread(alice, "alice's secret")
    user_item_id = done_items(streamed)[0]["id"]

    for request in every_request_on(thread_id, user_item_id):
        response = await chatkit.post(bob, request)
        kind = getattr(request, "type", "")
        assert response.status_code == 404, (kind, response.status_code, response.text)
        assert "secret" not in response.text, kind

    bobs = await chatkit.json(bob, ThreadsListReq(params=ThreadListParams()))
    assert bobs["data"] == []
    messages = (await chatkit.rest(alice, f"/{thread_id}/messages")).json()["items"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"] == "alice's secret"
    assert (await chatkit.rest(alice, f"/{thread_id}")).json()["title"] == "alice's secret"


async def test_feedback_is_stored_on_the_message(chatkit: ChatKit, alice: str) -> None:
    thread_id, streamed = await chatkit.new_thread(alice)
    reply_id = done_items(streamed)[1]["id"]
    kind: FeedbackKind = "positive"

    feedback = ItemFeedbackParams(thread_id=thread_id, item_ids=[reply_id], kind=kind)
    assert await chatkit.json(alice, ItemsFeedbackReq(params=feedback)) == {}

    message = await chatkit.stored_message(alice, thread_id, reply_id)
    assert orjson.loads(message.payload_json)["feedback"] == "positive"


async def test_feedback_on_the_same_item_twice_counts_once(chatkit: ChatKit, alice: str) -> None:
    thread_id, streamed = await chatkit.new_thread(alice)
    user_id, reply_id = (item["id"] for item in done_items(streamed))
    kind: FeedbackKind = "negative"

    feedback = ItemFeedbackParams(thread_id=thread_id, item_ids=[reply_id] * 30, kind=kind)
    assert await chatkit.json(alice, ItemsFeedbackReq(params=feedback)) == {}

    message = await chatkit.stored_message(alice, thread_id, reply_id)
    assert orjson.loads(message.payload_json)["feedback"] == "negative"
    untouched = await chatkit.stored_message(alice, thread_id, user_id)
    assert "feedback" not in orjson.loads(untouched.payload_json or "{}")


async def test_feedback_on_too_many_items_is_refused_and_changes_nothing(
    chatkit: ChatKit, alice: str
) -> None:
    thread_id, streamed = await chatkit.new_thread(alice)
    reply_id = done_items(streamed)[1]["id"]
    item_ids = [reply_id, *(str(uuid.uuid4()) for _ in range(50))]
    kind: FeedbackKind = "positive"

    feedback = ItemFeedbackParams(thread_id=thread_id, item_ids=item_ids, kind=kind)
    response = await chatkit.post(alice, ItemsFeedbackReq(params=feedback))

    assert response.status_code == 422, response.text
    message = await chatkit.stored_message(alice, thread_id, reply_id)
    assert "feedback" not in orjson.loads(message.payload_json or "{}")


async def test_feedback_naming_a_foreign_item_changes_nothing(
    chatkit: ChatKit, alice: str, bob: str
) -> None:
    thread_id, streamed = await chatkit.new_thread(alice)
    reply_id = done_items(streamed)[1]["id"]
    _, bobs = await chatkit.new_thread(bob)
    kind: FeedbackKind = "positive"

    item_ids = [reply_id, done_items(bobs)[1]["id"]]
    feedback = ItemFeedbackParams(thread_id=thread_id, item_ids=item_ids, kind=kind)
    response = await chatkit.post(alice, ItemsFeedbackReq(params=feedback))

    assert response.status_code == 404, response.text
    message = await chatkit.stored_message(alice, thread_id, reply_id)
    assert "feedback" not in orjson.loads(message.payload_json or "{}")


async def test_retry_after_item_replaces_the_reply(chatkit: ChatKit, alice: str) -> None:
    thread_id, streamed = await chatkit.new_thread(alice, "again")
    user_item, old_reply = done_items(streamed)

    retry = ThreadRetryAfterItemParams(thread_id=thread_id, item_id=user_item["id"])
    retried = await chatkit.events(alice, ThreadsRetryAfterItemReq(params=retry))

    (new_reply,) = done_items(retried)
    assert new_reply["id"] != old_reply["id"]
    messages = (await chatkit.rest(alice, f"/{thread_id}/messages")).json()["items"]
    assert [(m["id"], m["status"], m["content"]) for m in messages] == [
        (user_item["id"], "complete", "again"),
        (new_reply["id"], "complete", 'You said: "again". I received 2 messages.'),
    ]


async def test_threads_update_renames_the_conversation(chatkit: ChatKit, alice: str) -> None:
    thread_id, _ = await chatkit.new_thread(alice)

    update = ThreadUpdateParams(thread_id=thread_id, title="Renamed")
    assert (await chatkit.json(alice, ThreadsUpdateReq(params=update)))["title"] == "Renamed"

    assert (await chatkit.rest(alice, f"/{thread_id}")).json()["title"] == "Renamed"


async def test_threads_delete_removes_the_conversation(chatkit: ChatKit, alice: str) -> None:
    thread_id, _ = await chatkit.new_thread(alice)

    delete = ThreadsDeleteReq(params=ThreadDeleteParams(thread_id=thread_id))
    assert await chatkit.json(alice, delete) == {}

    assert (await chatkit.rest(alice, f"/{thread_id}")).status_code == 404
    get = ThreadsGetByIdReq(params=ThreadGetByIdParams(thread_id=thread_id))
    assert (await chatkit.post(alice, get)).status_code == 404


async def test_a_model_failure_stores_a_failed_reply(chatkit: ChatKit, alice: str) -> None:
    thread_id, _ = await chatkit.new_thread(alice)

    failing = ThreadAddUserMessageParams(thread_id=thread_id, input=user_input("[[fail:500]]"))
    streamed = await chatkit.events(alice, ThreadsAddUserMessageReq(params=failing))

    assert [e for e in streamed if e["type"] == "error"], streamed
    messages = (await chatkit.rest(alice, f"/{thread_id}/messages")).json()["items"]
    assert [(m["role"], m["status"]) for m in messages[-2:]] == [
        ("user", "complete"),
        ("assistant", "failed"),
    ]
    # After a reload ChatKit shows the reply as failed (its item has no status: a note).
    shown = await chatkit.json(alice, ItemsListReq(params=ItemsListParams(thread_id=thread_id)))
    failed = shown["data"][0]
    assert failed["type"] == "assistant_message"
    assert failed["content"][-1]["text"] == STATUS_NOTES["failed"]


async def test_a_malformed_request_is_rejected(chatkit: ChatKit, alice: str) -> None:
    for body in (b"{", b'{"type": "threads.nope", "params": {}}', b'{"type": "threads.list"}'):
        response = await chatkit.raw(alice, body)
        assert response.status_code == 422, (body, response.text)


async def test_an_unknown_thread_id_is_not_found(chatkit: ChatKit, alice: str) -> None:
    for thread_id in (str(uuid.uuid4()), "thr_not_a_uuid"):
        get = ThreadsGetByIdReq(params=ThreadGetByIdParams(thread_id=thread_id))
        response = await chatkit.post(alice, get)
        assert response.status_code == 404, response.text


async def test_items_page_with_the_after_cursor_both_ways(chatkit: ChatKit, alice: str) -> None:
    thread_id, _ = await chatkit.new_thread(alice, "one")
    more = ThreadAddUserMessageParams(thread_id=thread_id, input=user_input("two"))
    await chatkit.events(alice, ThreadsAddUserMessageReq(params=more))
    stored = [
        m["id"] for m in (await chatkit.rest(alice, f"/{thread_id}/messages")).json()["items"]
    ]

    for order, expected in (("asc", stored), ("desc", stored[::-1])):
        first = await chatkit.json(
            alice, ItemsListReq(params=ItemsListParams(thread_id=thread_id, limit=3, order=order))
        )
        assert first["has_more"] is True, order
        rest = await chatkit.json(
            alice,
            ItemsListReq(
                params=ItemsListParams(
                    thread_id=thread_id, limit=3, order=order, after=first["after"]
                )
            ),
        )
        assert rest["has_more"] is False, order
        assert [i["id"] for i in first["data"] + rest["data"]] == expected, order


async def test_threads_page_with_the_conversations_cursor(
    chatkit: ChatKit, stack: Stack, alice: str
) -> None:
    older = await stack.new_conversation(alice)
    newer = await stack.new_conversation(alice)

    first = await chatkit.json(alice, ThreadsListReq(params=ThreadListParams(limit=1)))
    rest = await chatkit.json(
        alice, ThreadsListReq(params=ThreadListParams(limit=1, after=first["after"]))
    )

    assert (first["has_more"], rest["has_more"]) == (True, False)
    assert [t["id"] for t in first["data"] + rest["data"]] == [newer, older]


async def test_a_client_that_goes_away_leaves_an_interrupted_reply(
    chatkit: ChatKit, stack: Stack, agent: Service, alice: str
) -> None:
    thread_id, _ = await chatkit.new_thread(alice)
    slow = ThreadAddUserMessageParams(
        thread_id=thread_id, input=user_input("[[slow:20]] [[words:200]]")
    )
    body = ThreadsAddUserMessageReq(params=slow).model_dump_json()
    url, headers = f"{agent.url}/chatkit", stack.auth(alice)

    async with stack.http.stream("POST", url, content=body, headers=headers) as response:
        async for event in iter_sse(response):
            if event.data.get("update", {}).get("type") == TEXT_DELTA:
                break  # a word arrived: hang up mid-reply

    async def stored() -> list[dict[str, Any]]:
        listed = await chatkit.rest(alice, f"/{thread_id}/messages")
        items: list[dict[str, Any]] = listed.json()["items"]
        return items

    def ended(items: list[dict[str, Any]]) -> bool:
        # The reply is final and, as the SDK does on a stopped stream, a hidden note follows.
        return bool(items[-1]["role"] == "system" and items[-2]["status"] != "in_progress")

    items = await poll_until(stored, ended, within=5, interval=0.1)
    reply = items[-2]
    assert reply["role"] == "assistant"
    assert reply["status"] == "interrupted"
    assert reply["content"].startswith("You")  # the words streamed before the hang-up


async def test_chatkit_needs_a_token(chatkit: ChatKit) -> None:
    response = await chatkit.stack.http.post(
        f"{chatkit.agent.url}/chatkit",
        content=ThreadsListReq(params=ThreadListParams()).model_dump_json(),
    )
    assert response.status_code == 401


def tagged_input(**fields: Any) -> UserMessageInput:
    """A short message whose other user-supplied fields carry the bulk."""
    tag = UserMessageTagContent(
        id=fields.pop("tag_id", "t1"), text="tag", data=fields.pop("data", {}), interactive=False
    )
    return UserMessageInput(
        content=[UserMessageTextContent(text="hi"), tag],
        attachments=[],
        inference_options=InferenceOptions(),
        **fields,
    )


@pytest.mark.parametrize(
    "message",
    [
        tagged_input(quoted_text="q" * 10_000),
        tagged_input(data={"blob": "d" * 10_000}),
        tagged_input(data={"k" * 10_000: 1}),
        tagged_input(tag_id="i" * 10_000),
    ],
    ids=["quoted-text", "tag-data-value", "tag-data-key", "tag-id"],
)
async def test_every_user_supplied_field_counts_against_the_length_limit(
    chatkit: ChatKit, alice: str, message: UserMessageInput
) -> None:
    response = await chatkit.post(alice, ThreadsCreateReq(params=ThreadCreateParams(input=message)))

    assert response.status_code == 422, response.text
    listed = await chatkit.json(alice, ThreadsListReq(params=ThreadListParams()))
    assert listed["data"] == []


async def test_a_message_with_tags_and_a_quote_within_the_limit_is_taken(
    chatkit: ChatKit, alice: str
) -> None:
    message = tagged_input(quoted_text="q" * 1_000, data={"note": "d" * 1_000})

    streamed = await chatkit.events(
        alice, ThreadsCreateReq(params=ThreadCreateParams(input=message))
    )

    assert [i["type"] for i in done_items(streamed)] == ["user_message", "assistant_message"]
