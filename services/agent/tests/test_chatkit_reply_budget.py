"""In process: a ChatKit turn starts its reply with StartReply (the user's item is stored
first), so the per-user budget applies to ChatKit as it does to REST: a refusal reaches the
client as a readable `error` event and stores no reply; a repeated reply start is refused."""

from __future__ import annotations

import uuid

from chat_common.errors import RateLimited
from chatkit.types import ErrorEvent, ThreadRetryAfterItemParams, ThreadsRetryAfterItemReq

from services.agent.tests.fake_model import ScriptedModel, says
from services.agent.tests.test_chatkit_server import ChatKit, add, done_items


def replies(chatkit: ChatKit, thread_id: str) -> list[str]:
    return [m.content for m in chatkit.store.in_conversation(thread_id) if m.role == "assistant"]


async def test_a_refused_reply_is_an_error_event_and_stores_no_reply() -> None:
    alice, chatkit = uuid.uuid4(), ChatKit(ScriptedModel(says("first"), says("never")))
    thread_id = await chatkit.new_thread(alice, "hello")
    chatkit.store.refuse_replies = RateLimited("too many messages; slow down", retry_after=7)

    events = await chatkit.events(alice, add(thread_id, "again"))

    errors = [e for e in events if isinstance(e, ErrorEvent)]
    assert [(e.message, e.allow_retry) for e in errors] == [
        ("too many messages; slow down (try again in 7 s)", True)
    ]
    assert replies(chatkit, thread_id) == ["first"]
    assert len(chatkit.model.calls) == 1  # the model was never asked


async def test_a_retry_after_a_refusal_starts_the_reply_once_allowed() -> None:
    alice, chatkit = uuid.uuid4(), ChatKit(ScriptedModel(says("first"), says("second")))
    thread_id = await chatkit.new_thread(alice, "hello")
    chatkit.store.refuse_replies = RateLimited("too many messages; slow down", retry_after=1)
    await chatkit.events(alice, add(thread_id, "again"))
    user = chatkit.store.in_conversation(thread_id)[-1]
    chatkit.store.refuse_replies = None

    retry = ThreadsRetryAfterItemReq(
        params=ThreadRetryAfterItemParams(thread_id=thread_id, item_id=user.id)
    )
    events = await chatkit.events(alice, retry)

    assert done_items(events)[-1].content[0].text == "second"
    assert replies(chatkit, thread_id) == ["first", "second"]
