"""In process: `threads.add_structured_input` answers an item that asks the user questions
(here one an action handler added); the answers are stored on the item, nothing else runs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import cast

import pytest
from agent.chatkit.actions import ActionCall, module_actions
from chat_common.errors import InvalidInput
from chatkit.types import (
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


async def test_answers_are_stored_on_the_item_and_no_turn_runs() -> None:
    user = uuid.uuid4()
    actions = module_actions([WEATHER])
    actions.add("weather.ask_city", ask_city)
    model = ScriptedModel(calls_tool("show_weather"), says("Here it is."))
    chatkit = WidgetChatKit(model, actions)
    card = await chatkit.card(user)
    asked = await chatkit.events(user, action(card, "weather.ask_city"))
    item = next(e.item for e in asked if isinstance(e, ThreadItemDoneEvent))
    assert isinstance(item, StructuredInputItem)

    events = await chatkit.events(user, answer(item, "Oslo"))

    replaced = [e.item for e in events if isinstance(e, ThreadItemReplacedEvent)]
    assert [(i.id, cast(StructuredInputItem, i).status) for i in replaced] == [
        (item.id, "answered")
    ]
    stored = next(i for i in await chatkit.items(user, item.thread_id) if i["id"] == item.id)
    assert stored["status"] == "answered"
    assert stored["inputs"][0]["answer"]["values"] == ["Oslo"]
    assert len(model.calls) == 2  # the card's turn only: answering ran no model
    with pytest.raises(InvalidInput, match="does not wait"):  # answered already
        await chatkit.process(user, answer(item, "Rome"))
    with pytest.raises(InvalidInput, match="does not wait"):  # not a question at all
        await chatkit.process(user, answer(item.model_copy(update={"id": card.id}), "Rome"))
