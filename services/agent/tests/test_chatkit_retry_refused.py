"""In process: a ChatKit retry (threads.retry_after_item) refused by the user's budget
keeps the reply it would have replaced. Today the SDK deletes the items after the user
message before our respond() asks for the new reply, so a refusal loses the old one: the
fix needs conversations to delete and start in one budgeted transaction (StartReply with
a retry flag; see helper H's report), hence the strict xfail until it lands."""

from __future__ import annotations

import uuid

import pytest
from chat_common.errors import RateLimited
from chatkit.types import ErrorEvent, ThreadRetryAfterItemParams, ThreadsRetryAfterItemReq

from services.agent.tests.fake_model import ScriptedModel, says
from services.agent.tests.test_chatkit_reply_budget import replies
from services.agent.tests.test_chatkit_server import ChatKit


@pytest.mark.xfail(strict=True, reason="needs StartReply(retry) in conversations (issue 15)")
async def test_a_refused_retry_keeps_the_old_reply() -> None:
    alice, chatkit = uuid.uuid4(), ChatKit(ScriptedModel(says("first"), says("never")))
    thread_id = await chatkit.new_thread(alice, "hello")
    user = next(m for m in chatkit.store.in_conversation(thread_id) if m.role == "user")
    chatkit.store.refuse_replies = RateLimited("today's tokens are spent", retry_after=60)

    retry = ThreadsRetryAfterItemReq(
        params=ThreadRetryAfterItemParams(thread_id=thread_id, item_id=user.id)
    )
    events = await chatkit.events(alice, retry)

    assert [e.allow_retry for e in events if isinstance(e, ErrorEvent)] == [True]
    assert replies(chatkit, thread_id) == ["first"]
    assert len(chatkit.model.calls) == 1
