"""In process: `threads.add_structured_input` answers an item that asks the user questions
(here one an action handler added); the answers are stored on the item and the turn goes on:
a reply (budgeted, anchored on the item) whose model reads the questions and answers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import cast

import pytest
from agent.chatkit.actions import ActionCall, module_actions
from chat_common.errors import InvalidInput, RateLimited
from chatkit.types import (
    AssistantMessageItem,
    ErrorEvent,
    StructuredInputAnswerSubmission,
    StructuredInputFreeform,
    StructuredInputItem,
    StructuredInputSubmission,
    ThreadAddStructuredInputParams,
    ThreadItemDoneEvent,
    ThreadItemReplacedEvent,
    ThreadsAddStructuredInputReq,
    ThreadStreamEvent,
)

from services.agent.tests.fake_model import ScriptedModel, calls_tool, says
from services.agent.tests.test_chatkit_actions import WEATHER, WidgetChatKit, action


async def ask_city(call: ActionCall) -> AsyncIterator[ThreadStreamEvent]:
    question = StructuredInputFreeform(id="city", question="Which city?")
    yield ThreadItemDoneEvent(
        item=StructuredInputItem(
            id=call.store.generate_item_id("message", call.thread, call.context),
            thread_id=call.thread.id,
            created_at=datetime.now(UTC),
            inputs=[question],
        )
    )


def answer(item: StructuredInputItem, city: str) -> ThreadsAddStructuredInputReq:
    submission = StructuredInputSubmission(
        answers={"city": StructuredInputAnswerSubmission(values=[city])}
    )
    params = ThreadAddStructuredInputParams(
        thread_id=item.thread_id, item_id=item.id, input=submission
    )
    return ThreadsAddStructuredInputReq(params=params)


async def asked(user: uuid.UUID, model: ScriptedModel) -> tuple[WidgetChatKit, StructuredInputItem]:
    """A thread whose weather card's action asked the user which city."""
    actions = module_actions([WEATHER])
    actions.add("weather.ask_city", ask_city)
    chatkit = WidgetChatKit(model, actions)
    card = await chatkit.card(user)
    events = await chatkit.events(user, action(card, "weather.ask_city"))
    item = next(e.item for e in events if isinstance(e, ThreadItemDoneEvent))
    assert isinstance(item, StructuredInputItem)
    return chatkit, item


async def test_answers_are_stored_on_the_item_and_the_model_reads_them() -> None:
    user = uuid.uuid4()
    model = ScriptedModel(calls_tool("show_weather"), says("Here it is."), says("Oslo it is."))
    chatkit, item = await asked(user, model)
    card_id = next(
        i["id"] for i in await chatkit.items(user, item.thread_id) if i["type"] == "widget"
    )

    events = await chatkit.events(user, answer(item, "Oslo"))

    replaced = [e.item for e in events if isinstance(e, ThreadItemReplacedEvent)]
    assert [(i.id, cast(StructuredInputItem, i).status) for i in replaced] == [
        (item.id, "answered")
    ]
    stored = next(i for i in await chatkit.items(user, item.thread_id) if i["id"] == item.id)
    assert stored["status"] == "answered"
    assert stored["inputs"][0]["answer"]["values"] == ["Oslo"]
    assert len(model.calls) == 3  # the card's turn (2 calls), then the reply to the answers
    assert model.calls[2].messages[-1] == {
        "role": "user",
        "content": "The user answered these questions:\n- Which city?: Oslo",
    }
    replies = [e.item for e in events if isinstance(e, ThreadItemDoneEvent)]
    assert isinstance(replies[-1], AssistantMessageItem)
    assert replies[-1].content[0].text == "Oslo it is."
    with pytest.raises(InvalidInput, match="does not wait"):  # answered already
        await chatkit.process(user, answer(item, "Rome"))
    with pytest.raises(InvalidInput, match="does not wait"):  # not a question at all
        await chatkit.process(user, answer(item.model_copy(update={"id": card_id}), "Rome"))


async def test_the_reply_to_answers_is_budgeted() -> None:
    user = uuid.uuid4()
    model = ScriptedModel(calls_tool("show_weather"), says("Here it is."), says("never"))
    chatkit, item = await asked(user, model)
    chatkit.store.refuse_replies = RateLimited("too many messages; slow down", retry_after=4)

    events = await chatkit.events(user, answer(item, "Oslo"))

    errors = [e.message for e in events if isinstance(e, ErrorEvent)]
    assert errors == ["too many messages; slow down (try again in 4 s)"]
    assert len(model.calls) == 2  # the model was not asked
    stored = next(i for i in await chatkit.items(user, item.thread_id) if i["id"] == item.id)
    assert stored["status"] == "answered"  # the answers are kept all the same
