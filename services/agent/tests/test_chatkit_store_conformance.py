"""Our ChatKit store against a real conversations service (gRPC, Postgres): it keeps what
it is given, the behaviours chatkit-python's own store suite checks (see
docs/chatkit-support.md for running that suite itself)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from agent.chatkit.context import ChatContext
from agent.chatkit.store import ConversationsStore
from agent.context import RequestContext
from agent.conversations_client import ConversationsClient
from agent.service_token import ServiceTokenSource
from chatkit.store import NotFoundError
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    EndOfTurnItem,
    HiddenContextItem,
    InferenceOptions,
    SDKHiddenContextItem,
    ThreadItem,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
    WidgetItem,
)
from chatkit.widgets import Card, Text

from .conftest import AGENT_CLIENT_SECRET, Service

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
async def store(
    auth_service: Service, conversations_service: Service
) -> AsyncIterator[ConversationsStore]:
    token = ServiceTokenSource(
        auth_url=auth_service.url, client_id="agent", client_secret=AGENT_CLIENT_SECRET
    )
    client = ConversationsClient(conversations_service.grpc_target, service_token=token)
    yield ConversationsStore(client, pipeline=None)  # type: ignore[arg-type]  # unused here
    await client.close()
    await token.close()


def someone() -> ChatContext:
    return ChatContext(auth=RequestContext(user_id=uuid.uuid4()))


def thread(thread_id: str = "thr_one", at: datetime = NOW) -> ThreadMetadata:
    return ThreadMetadata(id=thread_id, title="T", created_at=at, metadata={"k": "v"})


def every_kind(thread_id: str) -> list[ThreadItem]:
    at = {"thread_id": thread_id}
    return [
        UserMessageItem(
            id="msg_user",
            created_at=NOW,
            content=[UserMessageTextContent(text="Hello")],
            inference_options=InferenceOptions(),
            **at,
        ),
        AssistantMessageItem(
            id="msg_reply",
            created_at=NOW + timedelta(seconds=1),
            content=[AssistantMessageContent(text="Hi")],
            **at,
        ),
        WidgetItem(
            id="wid_1",
            created_at=NOW + timedelta(seconds=2),
            widget=Card(children=[Text(value="x")]),
            **at,
        ),
        HiddenContextItem(id="hc_1", created_at=NOW, content="for the model", **at),
        EndOfTurnItem(id="eot_1", created_at=NOW, **at),
    ]


async def test_every_item_kind_reads_back_equal_with_the_ids_the_sdk_chose(
    store: ConversationsStore,
) -> None:
    ctx = someone()
    await store.save_thread(thread(), ctx)
    saved = every_kind("thr_one")
    for item in saved:
        await store.add_thread_item("thr_one", item, ctx)

    page = await store.load_thread_items("thr_one", None, 10, "asc", ctx)
    assert page.data == saved  # no reply was added: storing a user message starts no turn
    assert await store.load_item("thr_one", "wid_1", ctx) == saved[2]
    assert (await store.load_thread("thr_one", ChatContext(auth=ctx.auth))).id == "thr_one"


async def test_threads_list_in_either_order_with_thread_ids_as_cursors(
    store: ConversationsStore,
) -> None:
    ctx = someone()
    for n in range(3):
        await store.save_thread(thread(f"thr_{n}", NOW + timedelta(seconds=n)), ctx)

    first = await store.load_threads(2, None, "asc", ctx)
    assert ([t.id for t in first.data], first.has_more, first.after) == (
        ["thr_0", "thr_1"],
        True,
        "thr_1",
    )
    rest = await store.load_threads(2, first.after, "asc", ctx)
    assert ([t.id for t in rest.data], rest.has_more) == (["thr_2"], False)
    newest = await store.load_threads(5, None, "desc", ctx)
    assert [t.id for t in newest.data] == ["thr_2", "thr_1", "thr_0"]


async def test_the_same_chosen_ids_are_separate_per_user(store: ConversationsStore) -> None:
    owner, other = someone(), someone()
    await store.save_thread(thread("thr_same"), owner)
    with pytest.raises(NotFoundError):
        await store.load_thread("thr_same", other)
    await store.save_thread(thread("thr_same"), other)  # their own thread, same id
    assert (await store.load_threads(10, None, "desc", other)).data[0].id == "thr_same"
    assert (await store.load_thread_items("thr_same", None, 10, "asc", other)).data == []


async def test_a_page_is_limit_rows_hidden_ones_too(store: ConversationsStore) -> None:
    # After a stopped stream the SDK reads the newest item to find its hidden note.
    ctx = someone()
    await store.save_thread(thread(), ctx)
    user = every_kind("thr_one")[0]
    note = SDKHiddenContextItem(
        id="sdk_hc_1", thread_id="thr_one", created_at=NOW, content="The user cancelled"
    )
    await store.add_thread_item("thr_one", user, ctx)
    await store.add_thread_item("thr_one", note, ctx)

    newest = await store.load_thread_items("thr_one", None, 1, "desc", ctx)

    assert (newest.data, newest.has_more, newest.after) == ([note], True, "sdk_hc_1")
