"""In process: widgets from tools and widget actions (agent/chatkit/actions.py, widgets.py),
driven by the example weather card (agent/chatkit/widgets_weather.py) over the fakes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any, cast
from uuid import UUID

import pytest
from agent.chatkit import widgets_weather
from agent.chatkit.actions import (
    ActionCall,
    ActionRegistry,
    UnknownAction,
    loaded_actions,
    module_actions,
)
from agent.chatkit.context import ChatContext
from agent.chatkit.server import ChatServer
from agent.chatkit.store import ConversationsStore
from agent.context import RequestContext
from agent.tools import ToolRegistry, default_tools
from chat_common.errors import InvalidInput
from chatkit.actions import Action
from chatkit.server import NonStreamingResult, StreamingResult
from chatkit.store import NotFoundError
from chatkit.types import (
    AssistantMessageItem,
    ClientEffectEvent,
    ErrorEvent,
    ItemsListParams,
    ItemsListReq,
    ThreadCustomActionParams,
    ThreadItemReplacedEvent,
    ThreadsCustomActionReq,
    ThreadsSyncCustomActionReq,
    ThreadStreamEvent,
    WidgetItem,
)
from pydantic import BaseModel

from services.agent.tests.fake_model import ScriptedModel, calls_tool, says
from services.agent.tests.test_chatkit_server import MAX_CHARS, ChatKit, create, done_items

WEATHER = "agent.chatkit.widgets_weather"


def weather_tools() -> ToolRegistry:
    tools = default_tools()
    widgets_weather.register_tools(tools)
    return tools


class WidgetChatKit(ChatKit):
    """ChatKit with the weather card's tool and actions, as TOOL_MODULES would load them."""

    def __init__(self, model: ScriptedModel, actions: ActionRegistry | None = None) -> None:
        super().__init__(model, tools=weather_tools())
        self.actions = actions or module_actions([WEATHER])

    async def process(self, user: UUID, request: BaseModel) -> StreamingResult | NonStreamingResult:
        store = ConversationsStore(cast(Any, self.store), self.pipeline)
        server = ChatServer(store, max_chars=MAX_CHARS, actions=self.actions)
        context = ChatContext(auth=RequestContext(user_id=user))
        return await server.process(request.model_dump_json().encode(), context)

    async def card(self, user: UUID) -> WidgetItem:
        """A new thread whose reply showed the weather card (the tool's widget item)."""
        events = await self.events(user, create("weather please"))
        return next(i for i in done_items(events) if isinstance(i, WidgetItem))

    async def items(self, user: UUID, thread_id: str) -> list[Any]:
        page = await self.json(
            user, ItemsListReq(params=ItemsListParams(thread_id=thread_id, order="asc"))
        )
        return cast(list[Any], page["data"])


def weather_chatkit() -> WidgetChatKit:
    return WidgetChatKit(ScriptedModel(calls_tool("show_weather"), says("Here it is.")))


def action(card: WidgetItem, action_type: str, payload: Any = None, *, sync: bool = False) -> Any:
    params = ThreadCustomActionParams(
        thread_id=card.thread_id,
        item_id=card.id,
        action=Action[str, Any](type=action_type, payload=payload),
    )
    if sync:
        return ThreadsSyncCustomActionReq(params=params)
    return ThreadsCustomActionReq(params=params)


def to_fahrenheit(card: WidgetItem) -> Any:
    return action(card, "weather.units", {"city": "Paris", "units": "F"})


def texts(widget: Any) -> list[str]:
    """The `value` of every component of a widget (dumped), depth first."""
    node = widget if isinstance(widget, dict) else widget.model_dump(mode="json")
    found = [node["value"]] if isinstance(node.get("value"), str) else []
    for child in node.get("children") or ():
        found += texts(child)
    return found


@pytest.fixture
def alice() -> UUID:
    return uuid.uuid4()


# -- the registry -------------------------------------------------------------------------


async def _noop(_: ActionCall) -> AsyncIterator[ThreadStreamEvent]:
    return
    yield


def test_a_second_handler_for_an_action_type_is_refused() -> None:
    actions = ActionRegistry()
    actions.add("a", _noop)
    with pytest.raises(ValueError, match="already registered"):
        actions.add("a", _noop)


def test_unknown_and_client_handled_actions_have_no_server_handler() -> None:
    actions = ActionRegistry()
    actions.on_client("open")
    with pytest.raises(UnknownAction, match="not handled here"):
        actions.handler("nope")
    with pytest.raises(UnknownAction, match="handled by the client"):
        actions.handler("open")
    assert UnknownAction.status == 400


def test_register_actions_is_optional_in_a_tool_module() -> None:
    loaded = module_actions([WEATHER, "agent.tools.builtin"])
    assert loaded.types() == ["weather.units", "weather.map"]
    assert loaded_actions((WEATHER,)) is loaded_actions((WEATHER,))  # imported once


# -- a widget from a tool -----------------------------------------------------------------


async def test_a_tool_shows_its_widget_after_its_result_and_a_reload_shows_it(
    alice: UUID,
) -> None:
    chatkit = weather_chatkit()
    events = await chatkit.events(alice, create("weather please"))

    shown = [i.type for i in done_items(events)]
    assert shown == ["user_message", "workflow", "widget", "assistant_message"]
    card = next(i for i in done_items(events) if isinstance(i, WidgetItem))
    celsius = widgets_weather.reading("Paris", "C")
    assert texts(card.widget) == ["Weather in Paris", celsius]
    assert card.copy_text == f"Paris: {celsius}"
    reloaded = await chatkit.items(alice, card.thread_id)
    assert [i["type"] for i in reloaded] == shown
    assert texts(reloaded[2]["widget"]) == ["Weather in Paris", celsius]
    # The model read the tool's text; the widget's row adds nothing to its history.
    last_call = chatkit.model.calls[1].messages
    assert last_call[-1]["role"] == "tool" and celsius in last_call[-1]["content"]


# -- actions ------------------------------------------------------------------------------


async def test_an_action_replaces_the_widget_sends_a_client_effect_and_is_stored(
    alice: UUID,
) -> None:
    chatkit = weather_chatkit()
    card = await chatkit.card(alice)

    events = await chatkit.events(alice, to_fahrenheit(card))

    replaced = [e.item for e in events if isinstance(e, ThreadItemReplacedEvent)]
    fahrenheit = widgets_weather.reading("Paris", "F")
    assert [(i.id, texts(cast(WidgetItem, i).widget)[1]) for i in replaced] == [
        (card.id, fahrenheit)
    ]
    effects = [e for e in events if isinstance(e, ClientEffectEvent)]
    assert [(e.name, e.data) for e in effects] == [("weather.units", {"units": "F"})]
    reloaded = await chatkit.items(alice, card.thread_id)
    widget = next(i for i in reloaded if i["id"] == card.id)
    assert texts(widget["widget"])[1] == fahrenheit


async def test_sync_custom_action_answers_the_updated_widget(alice: UUID) -> None:
    chatkit = weather_chatkit()
    card = await chatkit.card(alice)

    answer = await chatkit.json(
        alice, action(card, "weather.units", {"city": "Paris", "units": "F"}, sync=True)
    )

    fahrenheit = widgets_weather.reading("Paris", "F")
    assert answer["updated_item"]["id"] == card.id
    assert texts(answer["updated_item"]["widget"])[1] == fahrenheit
    reloaded = await chatkit.items(alice, card.thread_id)
    assert texts(next(i for i in reloaded if i["id"] == card.id)["widget"])[1] == fahrenheit


async def test_a_handler_can_add_an_assistant_message(alice: UUID) -> None:
    actions = module_actions([WEATHER])

    @actions.action("weather.thanks")
    async def thanks(call: ActionCall) -> AsyncIterator[ThreadStreamEvent]:
        yield call.message(f"You're welcome, {call.payload['name']}.")

    chatkit = WidgetChatKit(weather_chatkit().model, actions)
    card = await chatkit.card(alice)
    events = await chatkit.events(alice, action(card, "weather.thanks", {"name": "Alice"}))

    added = [i for i in done_items(events) if isinstance(i, AssistantMessageItem)]
    assert [i.content[0].text for i in added] == ["You're welcome, Alice."]
    reloaded = await chatkit.items(alice, card.thread_id)
    assert reloaded[-1]["content"][0]["text"] == "You're welcome, Alice."


@pytest.mark.parametrize("action_type", ["weather.nope", "weather.map"])
async def test_an_action_with_no_server_handler_is_a_400_before_anything_runs(
    alice: UUID, action_type: str
) -> None:
    chatkit = weather_chatkit()
    card = await chatkit.card(alice)
    for sync in (False, True):
        with pytest.raises(UnknownAction) as refused:
            await chatkit.process(alice, action(card, action_type, sync=sync))
        assert refused.value.status == 400


async def test_a_handler_s_refusal_is_a_readable_error_event(alice: UUID) -> None:
    chatkit = weather_chatkit()
    card = await chatkit.card(alice)

    events = await chatkit.events(alice, action(card, "weather.units", {"units": "K"}))

    errors = [e for e in events if isinstance(e, ErrorEvent)]
    assert [e.message for e in errors] == ["the weather card sent an action it cannot have sent"]


async def test_only_a_widget_sends_actions(alice: UUID) -> None:
    chatkit = weather_chatkit()
    card = await chatkit.card(alice)
    reply = (await chatkit.items(alice, card.thread_id))[-1]
    not_a_widget = card.model_copy(update={"id": reply["id"]})

    with pytest.raises(InvalidInput, match="only a widget"):
        await chatkit.process(alice, to_fahrenheit(not_a_widget))


async def test_another_users_widget_is_not_found(alice: UUID) -> None:
    chatkit = weather_chatkit()
    card = await chatkit.card(alice)

    for sync in (False, True):
        with pytest.raises(NotFoundError):
            await chatkit.process(uuid.uuid4(), action(card, "weather.units", sync=sync))
    reloaded = await chatkit.items(alice, card.thread_id)
    assert texts(next(i for i in reloaded if i["id"] == card.id)["widget"]) == texts(card.widget)
