"""In process: the reply after a client tool's output is a continuation StartReply anchored
on the stored result, so it is charged to the user's turn budget (a refusal is a readable
`error` event, the model is not asked) and a repeated output starts no second turn."""

from __future__ import annotations

import uuid
from typing import Any, cast

import pytest
from agent.chatkit import client_tools
from agent.chatkit.context import ChatContext
from agent.chatkit.store import ConversationsStore
from agent.context import RequestContext
from chat_common.errors import Conflict, RateLimited
from chatkit.types import ClientToolCallItem, ErrorEvent

from services.agent.tests.fake_model import ScriptedModel, calls_tool, says
from services.agent.tests.test_chatkit_server import ChatKit, create, done_items
from services.agent.tests.test_client_tools import output, with_client_tools


async def pending_call(chatkit: ChatKit, user: uuid.UUID) -> ClientToolCallItem:
    pending = done_items(await chatkit.events(user, create("what did I select?")))[-1]
    assert isinstance(pending, ClientToolCallItem)
    return pending


def roles(chatkit: ChatKit, thread_id: str) -> list[str]:
    return [m.role for m in chatkit.store.in_conversation(thread_id)]


async def test_a_refused_continuation_is_an_error_event_and_asks_no_model() -> None:
    user = uuid.uuid4()
    chatkit = ChatKit(
        ScriptedModel(calls_tool("get_selection"), says("no")), tools=with_client_tools()
    )
    pending = await pending_call(chatkit, user)
    chatkit.store.refuse_replies = RateLimited("too many messages; slow down", retry_after=5)

    events = await chatkit.events(user, output(pending.thread_id, "hello"))

    errors = [e for e in events if isinstance(e, ErrorEvent)]
    assert [e.message for e in errors] == ["too many messages; slow down (try again in 5 s)"]
    assert len(chatkit.model.calls) == 1  # only the turn that called the tool
    assert roles(chatkit, pending.thread_id)[-1] == "tool"  # the result, and no reply to it


async def test_a_repeated_output_for_the_same_call_starts_no_second_reply() -> None:
    user = uuid.uuid4()
    model = ScriptedModel(calls_tool("get_selection"), says("You selected it."), says("twice"))
    chatkit = ChatKit(model, tools=with_client_tools())
    pending = await pending_call(chatkit, user)
    await chatkit.events(user, output(pending.thread_id, "hello"))
    before = roles(chatkit, pending.thread_id)

    # A second resume of the same completed call (as a racing request would run it).
    store = ConversationsStore(cast(Any, chatkit.store), chatkit.pipeline)
    context = ChatContext(auth=RequestContext(user_id=user))
    thread = await store.load_thread(pending.thread_id, context)
    with pytest.raises(Conflict, match="already goes on"):
        await client_tools.resume(store, thread, context)

    assert roles(chatkit, pending.thread_id) == before  # no second result, no second reply
    assert before.count("tool") == 1 and len(model.calls) == 2
