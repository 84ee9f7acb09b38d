"""In process: a ChatKit retry (threads.retry_after_item) asks conversations to delete
the items after the user message and start the new reply in one budgeted transaction
(StartReply with `retry`), instead of the SDK's deletions before respond(): refused by
the user's budget, it keeps the reply it would have replaced."""

from __future__ import annotations

import uuid

from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import RateLimited
from chatkit.types import ErrorEvent, ThreadRetryAfterItemParams, ThreadsRetryAfterItemReq

from services.agent.tests.fake_model import ScriptedModel, says
from services.agent.tests.test_chatkit_reply_budget import replies
from services.agent.tests.test_chatkit_server import ChatKit, add, done_items


def retry_of(thread_id: str, item_id: str) -> ThreadsRetryAfterItemReq:
    return ThreadsRetryAfterItemReq(
        params=ThreadRetryAfterItemParams(thread_id=thread_id, item_id=item_id)
    )


async def test_a_refused_retry_keeps_the_old_reply() -> None:
    alice, chatkit = uuid.uuid4(), ChatKit(ScriptedModel(says("first"), says("never")))
    thread_id = await chatkit.new_thread(alice, "hello")
    user = next(m for m in chatkit.store.in_conversation(thread_id) if m.role == "user")
    chatkit.store.refuse_replies = RateLimited("today's tokens are spent", retry_after=60)

    events = await chatkit.events(alice, retry_of(thread_id, user.id))

    assert [e.allow_retry for e in events if isinstance(e, ErrorEvent)] == [True]
    assert replies(chatkit, thread_id) == ["first"]
    assert len(chatkit.model.calls) == 1


async def test_an_allowed_retry_replaces_every_later_item_in_one_start_reply() -> None:
    model = ScriptedModel(says("first"), says("second"), says("retried"))
    alice, chatkit = uuid.uuid4(), ChatKit(model)
    thread_id = await chatkit.new_thread(alice, "hello")
    await chatkit.events(alice, add(thread_id, "and then"))
    user = next(m for m in chatkit.store.in_conversation(thread_id) if m.role == "user")
    starts = spy_on_start_reply(chatkit)

    events = await chatkit.events(alice, retry_of(thread_id, user.id))

    (new,) = done_items(events)
    stored = chatkit.store.in_conversation(thread_id)
    assert [(m.role, m.content) for m in stored] == [("user", "hello"), ("assistant", "retried")]
    assert stored[-1].id == new.id
    assert [(r.user_message_id, r.retry) for r in starts] == [(user.id, True)]


def spy_on_start_reply(chatkit: ChatKit) -> list[pb.StartReplyRequest]:
    """The StartReply requests the agent sends from now on."""
    requests: list[pb.StartReplyRequest] = []
    start_reply = chatkit.store.start_reply

    async def recorded(user_id: uuid.UUID, request: pb.StartReplyRequest) -> pb.StartReplyResponse:
        requests.append(request)
        return await start_reply(user_id, request)

    chatkit.store.start_reply = recorded  # type: ignore[method-assign]
    return requests
