"""In process: what a ChatKit user sends beside the text reaches the model (quoted text,
entity tags, the composer's model and tool choice, the locale, hidden context), and a model
outside MODEL_ALLOWLIST is refused with an error event before anything is stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

import orjson
import pytest
from agent.chatkit.context import ChatContext
from agent.chatkit.server import ChatServer
from agent.chatkit.store import ConversationsStore
from agent.context import RequestContext
from agent.tools import default_tools
from chatkit.server import NonStreamingResult, StreamingResult
from chatkit.types import (
    ErrorEvent,
    HiddenContextItem,
    InferenceOptions,
    ItemsListParams,
    ItemsListReq,
    SDKHiddenContextItem,
    ThreadAddUserMessageParams,
    ThreadCreatedEvent,
    ThreadCreateParams,
    ThreadsAddUserMessageReq,
    ThreadsCreateReq,
    ThreadStreamEvent,
    ToolChoice,
    UserMessageContent,
    UserMessageInput,
    UserMessageTagContent,
    UserMessageTextContent,
)
from pydantic import BaseModel, TypeAdapter

from services.agent.tests.fake_model import ScriptedModel, calls_tool, says
from services.agent.tests.fakes import FakeConversations, make_pipeline

_EVENT = TypeAdapter[ThreadStreamEvent](ThreadStreamEvent)


class ChatKit:
    """A ChatServer per request over one set of fakes, with the server's own options."""

    def __init__(self, model: ScriptedModel, *, locale: str | None = None, **server: Any) -> None:
        self.store = FakeConversations()
        self.model = model
        self.pipeline = make_pipeline(self.store, model, tools=default_tools())
        self.locale = locale
        self.server = server

    def context(self, user: UUID) -> ChatContext:
        return ChatContext(auth=RequestContext(user_id=user), locale=self.locale)

    def chat_server(self) -> ChatServer:
        store = ConversationsStore(cast(Any, self.store), self.pipeline)
        return ChatServer(store, max_chars=10_000, **self.server)

    async def process(self, user: UUID, request: BaseModel) -> StreamingResult | NonStreamingResult:
        body = request.model_dump_json().encode()
        return await self.chat_server().process(body, self.context(user))

    async def events(self, user: UUID, request: BaseModel) -> list[ThreadStreamEvent]:
        result = await self.process(user, request)
        assert isinstance(result, StreamingResult)
        return [_EVENT.validate_json(chunk.removeprefix(b"data: ")) async for chunk in result]


def message(
    *content: UserMessageContent,
    quoted_text: str | None = None,
    model: str | None = None,
    tool: str | None = None,
) -> UserMessageInput:
    return UserMessageInput(
        content=list(content),
        attachments=[],
        quoted_text=quoted_text,
        inference_options=InferenceOptions(
            model=model, tool_choice=ToolChoice(id=tool) if tool else None
        ),
    )


def create(input_: UserMessageInput) -> ThreadsCreateReq:
    return ThreadsCreateReq(params=ThreadCreateParams(input=input_))


def text(value: str) -> UserMessageTextContent:
    return UserMessageTextContent(text=value)


def last_user_content(model: ScriptedModel, call: int = 0) -> str:
    users = [m for m in model.calls[call].messages if m["role"] == "user"]
    return str(users[-1]["content"])


@pytest.fixture
def alice() -> UUID:
    return uuid.uuid4()


async def test_quoted_text_reaches_the_model_with_the_message(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(says("ok")))

    await chatkit.events(alice, create(message(text("explain this"), quoted_text="E = mc^2")))

    content = last_user_content(chatkit.model)
    assert content.startswith("explain this")
    assert "referring to this in particular:\nE = mc^2" in content


async def test_entity_tags_reach_the_model_with_their_data(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(says("ok")))
    tag = UserMessageTagContent(
        id="doc_7", text="@Roadmap", data={"owner": "Ana", "due": "Q3"}, group="docs"
    )

    await chatkit.events(alice, create(message(text("summarise "), tag)))

    content = last_user_content(chatkit.model)
    assert content.startswith("summarise @Roadmap")
    assert '- @Roadmap (id doc_7, group docs): {"owner":"Ana","due":"Q3"}' in content


async def test_a_plain_message_reaches_the_model_unchanged(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(says("ok")))

    await chatkit.events(alice, create(message(text("just text"))))

    assert last_user_content(chatkit.model) == "just text"


async def test_a_model_from_the_allow_list_is_used(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(says("ok")), models=frozenset({"gpt-big"}))

    events = await chatkit.events(alice, create(message(text("hi"), model="gpt-big")))

    assert not any(isinstance(e, ErrorEvent) for e in events)
    assert chatkit.model.calls[0].model == "gpt-big"


async def test_no_model_chosen_is_the_default_model(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(says("ok")), models=frozenset({"gpt-big"}))

    await chatkit.events(alice, create(message(text("hi"))))

    assert chatkit.model.calls[0].model is None  # the configured OPENAI_MODEL


async def test_a_model_off_the_allow_list_is_refused_before_anything_is_stored(
    alice: UUID,
) -> None:
    chatkit = ChatKit(ScriptedModel(), models=frozenset({"gpt-big"}))

    events = await chatkit.events(alice, create(message(text("hi"), model="gpt-secret")))

    assert len(events) == 1 and isinstance(events[0], ErrorEvent)
    assert events[0].message is not None and "'gpt-secret' is not available" in events[0].message
    assert "gpt-big" in events[0].message
    assert not chatkit.store.messages and not chatkit.model.calls


async def test_tool_choice_makes_the_first_model_call_call_that_tool(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(calls_tool("get_current_time"), says("It is noon.")))

    await chatkit.events(alice, create(message(text("time?"), tool="get_current_time")))

    assert [call.tool_choice for call in chatkit.model.calls] == ["get_current_time", None]


async def test_an_unknown_tool_choice_is_refused(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel())

    events = await chatkit.events(alice, create(message(text("hi"), tool="launch_rockets")))

    assert isinstance(events[0], ErrorEvent) and "'launch_rockets'" in (events[0].message or "")
    assert not chatkit.model.calls


async def test_the_locale_reaches_the_model_as_a_system_hint(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(says("bonjour")), locale="fr-FR")

    await chatkit.events(alice, create(message(text("hi"))))

    system = chatkit.model.calls[0].messages[0]
    assert system["role"] == "system" and "locale is fr-FR" in system["content"]


@pytest.mark.parametrize("kind", [HiddenContextItem, SDKHiddenContextItem])
async def test_hidden_context_reaches_the_model_and_is_never_shown(
    alice: UUID, kind: type[HiddenContextItem | SDKHiddenContextItem]
) -> None:
    chatkit = ChatKit(ScriptedModel(says("first"), says("second")))
    created = await chatkit.events(alice, create(message(text("hello"))))
    thread_id = next(e.thread.id for e in created if isinstance(e, ThreadCreatedEvent))
    hidden = kind(
        id=str(uuid.uuid4()),
        thread_id=thread_id,
        created_at=datetime.now(UTC),
        content="The user is on the premium plan.",
    )
    server = chatkit.chat_server()
    await server.store.add_thread_item(thread_id, hidden, chatkit.context(alice))

    add = ThreadsAddUserMessageReq(
        params=ThreadAddUserMessageParams(thread_id=thread_id, input=message(text("and now?")))
    )
    await chatkit.events(alice, add)

    sent = orjson.dumps(chatkit.model.calls[1].messages).decode()
    assert "The user is on the premium plan." in sent
    listed = await chatkit.process(alice, ItemsListReq(params=ItemsListParams(thread_id=thread_id)))
    assert isinstance(listed, NonStreamingResult)
    assert b"premium plan" not in listed.json
