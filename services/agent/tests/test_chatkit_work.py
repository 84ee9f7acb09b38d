"""In process: the agent's work is visible in ChatKit (a workflow per tool round with a task
per call and a progress update, reasoning summaries, a title the model writes), every
failure after the stream started is an `error` event, and only served request types pass."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import orjson
import pytest
from agent.chatkit import server
from agent.chatkit.server import SERVED
from agent.chatkit.stream_errors import NotSupported
from agent.model import ModelError, ReasoningDelta, _status_detail
from chat_common.errors import RateLimited
from chatkit.server import NonStreamingResult
from chatkit.types import (
    CustomTask,
    DurationSummary,
    ErrorEvent,
    ItemsListParams,
    ItemsListReq,
    ProgressUpdateEvent,
    ThoughtTask,
    ThreadAddUserMessageParams,
    ThreadCreatedEvent,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadsAddUserMessageReq,
    ThreadStreamEvent,
    ThreadUpdatedEvent,
    WorkflowItem,
    WorkflowTaskUpdated,
)

from services.agent.tests.fake_model import ScriptedModel, calls_tool, says
from services.agent.tests.test_chatkit_inputs import ChatKit, create, message, text


@pytest.fixture
def alice() -> UUID:
    return uuid.uuid4()


def add_message(thread_id: str, value: str) -> ThreadsAddUserMessageReq:
    params = ThreadAddUserMessageParams(thread_id=thread_id, input=message(text(value)))
    return ThreadsAddUserMessageReq(params=params)


def done(events: list[ThreadStreamEvent]) -> list[Any]:
    return [e.item for e in events if isinstance(e, ThreadItemDoneEvent)]


async def test_a_tool_round_is_one_workflow_then_the_answer(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(calls_tool("get_current_time"), says("It is noon.")))

    events = await chatkit.events(alice, create(message(text("time?"))))

    assert [item.type for item in done(events)] == ["user_message", "workflow", "assistant_message"]
    workflow = done(events)[1].workflow
    assert not workflow.expanded and isinstance(workflow.summary, DurationSummary)
    (task,) = workflow.tasks
    assert isinstance(task, CustomTask) and task.status_indicator == "complete"
    assert task.title == "Called get_current_time" and task.content  # the tool's result


async def test_the_client_sees_progress_and_the_task_finish_while_the_tool_runs(
    alice: UUID,
) -> None:
    chatkit = ChatKit(ScriptedModel(calls_tool("get_current_time"), says("It is noon.")))

    events = await chatkit.events(alice, create(message(text("time?"))))

    kinds = [e.type for e in events]
    progress = next(e for e in events if isinstance(e, ProgressUpdateEvent))
    assert progress.text == "Running get_current_time…"
    added = next(e for e in events if isinstance(e, ThreadItemAddedEvent))
    assert isinstance(added.item, WorkflowItem)
    finished = next(
        e
        for e in events
        if isinstance(e, ThreadItemUpdatedEvent) and isinstance(e.update, WorkflowTaskUpdated)
    )
    # progress, then the task turns complete, before the workflow is done and the answer starts
    order = [events.index(progress), events.index(finished)]
    assert order == sorted(order) and kinds.index("thread.item.done", order[1]) > order[1]


async def test_a_reasoning_summary_is_shown_as_a_collapsed_thought(alice: UUID) -> None:
    script = [ReasoningDelta("Think"), ReasoningDelta("ing."), *says("Answer.")]
    chatkit = ChatKit(ScriptedModel(script))

    events = await chatkit.events(alice, create(message(text("why?"))))

    _, workflow, answer = done(events)
    assert workflow.workflow.type == "reasoning" and not workflow.workflow.expanded
    (thought,) = workflow.workflow.tasks
    assert isinstance(thought, ThoughtTask) and thought.content == "Thinking."
    assert answer.content[0].text == "Answer."


async def test_the_model_writes_a_new_threads_title_when_asked_to(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(says("Sure."), says('"Lisbon trip"')), title_from_model=True)

    events = await chatkit.events(alice, create(message(text("Plan a trip to Lisbon please"))))

    updated = [e for e in events if isinstance(e, ThreadUpdatedEvent)]
    assert updated[-1].thread.title == "Lisbon trip"
    assert chatkit.model.calls[1].messages[-1]["content"] == "Plan a trip to Lisbon please"


async def test_without_the_setting_the_title_is_the_first_words(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel(says("Sure.")))

    events = await chatkit.events(alice, create(message(text("Plan a trip to Lisbon"))))

    assert len(chatkit.model.calls) == 1
    assert [e for e in events if isinstance(e, ThreadUpdatedEvent)][-1].thread.title == (
        "Plan a trip to Lisbon"
    )


async def over_budget(*_: Any) -> None:
    raise RateLimited("too many messages", retry_after=30)


@pytest.mark.parametrize("refused", ["append_message", "start_reply"])
async def test_a_refusal_after_thread_created_is_a_readable_error_event(
    alice: UUID, refused: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storing the user message (before the SDK's event loop) or starting its reply."""
    chatkit = ChatKit(ScriptedModel())
    monkeypatch.setattr(chatkit.store, refused, over_budget)

    events = await chatkit.events(alice, create(message(text("hi"))))

    assert isinstance(events[0], ThreadCreatedEvent)
    error = events[-1]
    assert (
        isinstance(error, ErrorEvent) and error.message == "too many messages (try again in 30 s)"
    )


async def test_an_unexpected_failure_after_the_stream_started_is_an_error_event(
    alice: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    chatkit = ChatKit(ScriptedModel())

    async def broken(*_: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(chatkit.store, "append_message", broken)

    events = await chatkit.events(alice, create(message(text("hi"))))

    error = events[-1]
    assert isinstance(error, ErrorEvent) and error.allow_retry
    assert error.message is not None and "boom" not in error.message


async def test_a_rate_limited_model_is_a_readable_error_event(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel([ModelError("the model is rate limited; try again later")]))

    events = await chatkit.events(alice, create(message(text("hi"))))

    (error,) = [e for e in events if isinstance(e, ErrorEvent)]
    assert error.message == "the model is rate limited; try again later"


def test_rate_limits_and_quotas_read_as_what_they_are() -> None:
    assert _status_detail(429) == "the model is rate limited; try again later"
    assert _status_detail(429, "insufficient_quota") == (
        "the model's usage quota is used up; ask the operator to raise it"
    )


# Request types an integration may send that this server does not serve (yet).
async def test_a_request_type_not_served_is_refused_before_anything_runs(
    alice: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every type of the pinned SDK is served now; a later SDK's new type is not until it is
    # added to SERVED. Take one out to see the allow-list refuse it before anything runs.
    monkeypatch.setattr(server, "SERVED", SERVED - {"threads.update"})
    chatkit = ChatKit(ScriptedModel(says("ok")))
    events = await chatkit.events(alice, create(message(text("hi"))))
    thread_id = next(e.thread.id for e in events if isinstance(e, ThreadCreatedEvent))
    stored = len(chatkit.store.messages)
    params = {"thread_id": thread_id, "title": "renamed"}
    body = orjson.dumps({"type": "threads.update", "params": params})

    with pytest.raises(NotSupported):
        await chatkit.chat_server().process(body, chatkit.context(alice))
    assert len(chatkit.model.calls) == 1 and len(chatkit.store.messages) == stored


async def test_a_reload_shows_the_tool_round_as_it_streamed(alice: UUID) -> None:
    chatkit = ChatKit(
        ScriptedModel(calls_tool("get_current_time"), says("It is noon."), says("Later."))
    )
    events = await chatkit.events(alice, create(message(text("time?"))))
    thread_id = next(e.thread.id for e in events if isinstance(e, ThreadCreatedEvent))

    listed = await chatkit.process(
        alice, ItemsListReq(params=ItemsListParams(thread_id=thread_id, order="asc"))
    )

    assert isinstance(listed, NonStreamingResult)
    shown = orjson.loads(listed.json)["data"]
    assert [item["type"] for item in shown] == ["user_message", "workflow", "assistant_message"]
    assert shown[1]["workflow"]["tasks"][0]["title"] == "Called get_current_time"


async def test_the_next_turn_sends_the_model_the_tool_exchange_not_the_workflow(
    alice: UUID,
) -> None:
    chatkit = ChatKit(
        ScriptedModel(calls_tool("get_current_time"), says("It is noon."), says("Later."))
    )
    events = await chatkit.events(alice, create(message(text("time?"))))
    thread_id = next(e.thread.id for e in events if isinstance(e, ThreadCreatedEvent))

    await chatkit.events(alice, add_message(thread_id, "and now?"))

    sent = chatkit.model.calls[2].messages
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "assistant", "user"]


async def test_a_reasoning_only_workflow_is_shown_but_not_stored(alice: UUID) -> None:
    chatkit = ChatKit(ScriptedModel([ReasoningDelta("Hmm."), *says("Yes.")]))
    events = await chatkit.events(alice, create(message(text("why?"))))
    thread_id = next(e.thread.id for e in events if isinstance(e, ThreadCreatedEvent))

    listed = await chatkit.process(
        alice, ItemsListReq(params=ItemsListParams(thread_id=thread_id, order="asc"))
    )

    assert isinstance(listed, NonStreamingResult)
    types = [item["type"] for item in orjson.loads(listed.json)["data"]]
    assert types == ["user_message", "assistant_message"]
