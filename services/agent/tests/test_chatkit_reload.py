"""What a reload shows (the store over the in-memory conversations service): a reply's
status as a visible note, pages full of shown items whatever the hidden rows between them,
and aware times on what the SDK stores and streams."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

import pytest
from agent.chatkit import items
from agent.chatkit.context import ChatContext
from agent.chatkit.store import ConversationsStore
from agent.context import RequestContext
from chatkit.types import (
    AssistantMessageItem,
    HiddenContextItem,
    InferenceOptions,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
)

from services.agent.tests.fake_model import ScriptedModel
from services.agent.tests.fakes import FakeConversations, make_pipeline


@pytest.fixture
def fake() -> FakeConversations:
    return FakeConversations()


def store_over(fake: FakeConversations) -> ConversationsStore:
    return ConversationsStore(cast(Any, fake), make_pipeline(fake, ScriptedModel()))


def context(fake: FakeConversations) -> tuple[ChatContext, str]:
    user = uuid.uuid4()
    return ChatContext(auth=RequestContext(user_id=user)), fake.conversation(user)


def texts(item: Any) -> list[str]:
    assert isinstance(item, AssistantMessageItem)
    return [part.text for part in item.content]


@pytest.mark.parametrize("status", ["failed", "interrupted", "in_progress"])
async def test_a_reply_that_did_not_complete_says_so_after_a_reload(
    fake: FakeConversations, status: str
) -> None:
    ctx, thread_id = context(fake)
    fake.add(thread_id, "user", "hello")
    reply = fake.add(thread_id, "assistant", "Half an ans", status)

    item = await store_over(fake).load_item(thread_id, reply.id, ctx)

    assert texts(item) == ["Half an ans", items.STATUS_NOTES[status]]


async def test_a_complete_reply_has_no_note_and_an_empty_failed_one_is_shown(
    fake: FakeConversations,
) -> None:
    ctx, thread_id = context(fake)
    done = fake.add(thread_id, "assistant", "All of it")
    failed = fake.add(thread_id, "assistant", "", "failed")
    store = store_over(fake)

    assert texts(await store.load_item(thread_id, done.id, ctx)) == ["All of it"]
    assert texts(await store.load_item(thread_id, failed.id, ctx)) == [
        "",
        items.STATUS_NOTES["failed"],
    ]


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_hidden_rows_do_not_cut_a_page_short(fake: FakeConversations, order: str) -> None:
    ctx, thread_id = context(fake)
    for n in range(6):
        fake.add(thread_id, "user", f"question {n}")
        fake.add(thread_id, "tool", "a tool result")  # hidden in ChatKit
    store = store_over(fake)
    ctx.client_page = True  # items.list / threads.get_by_id

    first = await store.load_thread_items(thread_id, None, 4, order, ctx)
    rest = await store.load_thread_items(thread_id, first.after, 4, order, ctx)

    shown = [i for i in first.data if not isinstance(i, HiddenContextItem)]
    assert len(shown) == 4 and first.has_more
    later = [i for i in rest.data if not isinstance(i, HiddenContextItem)]
    assert len(later) == 2 and not rest.has_more
    ids = [i.id for i in first.data + rest.data]
    assert len(ids) == len(set(ids)) == 12  # every row once, hidden ones too


async def test_other_callers_get_limit_rows_hidden_ones_too(fake: FakeConversations) -> None:
    # What the SDK itself reads (e.g. the newest item after a cancelled stream): `limit` rows.
    ctx, thread_id = context(fake)
    fake.add(thread_id, "user", "question")
    fake.add(thread_id, "tool", "a tool result")

    page = await store_over(fake).load_thread_items(thread_id, None, 1, "desc", ctx)

    assert [type(i) for i in page.data] == [HiddenContextItem] and page.has_more


async def test_naive_sdk_times_are_stored_and_streamed_aware(fake: FakeConversations) -> None:
    ctx, thread_id = context(fake)
    store = store_over(fake)
    naive = datetime.now()  # what the SDK's own code stamps items and threads with
    item = UserMessageItem(
        id="msg_1",
        thread_id=thread_id,
        created_at=naive,
        content=[UserMessageTextContent(text="hi")],
        inference_options=InferenceOptions(),
    )
    thread = ThreadMetadata(id=thread_id, created_at=naive)

    await store.add_thread_item(thread_id, item, ctx)
    await store.save_thread(thread, ctx)

    assert item.created_at.tzinfo is not None and item.created_at == naive.astimezone()
    loaded = await store.load_item(thread_id, "msg_1", ctx)
    assert loaded == item and loaded.created_at.utcoffset() is not None
    ctx.threads.clear()  # read it back from the service, not this request's cache
    reloaded = await store.load_thread(thread_id, ctx)
    assert reloaded.created_at == naive.astimezone() and reloaded.created_at.tzinfo is not None
