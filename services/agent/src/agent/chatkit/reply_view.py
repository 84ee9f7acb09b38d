"""The turn pipeline's events as ChatKit stream events: what the user sees of a reply.

Answer text streams into an assistant message item. The agent's work between answers (a
reasoning summary, tool calls) is one workflow item per round: a thought task that grows
with the summary, a task per tool call that turns `complete` when its result is in, and a
progress update while a tool runs; the workflow collapses to its duration when the round
ends, so a tool round reads as one assistant turn instead of loose bubbles.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from chat.conversations.v1 import conversations_pb2 as pb
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageContentPartTextDelta,
    AssistantMessageItem,
    CustomTask,
    DurationSummary,
    ProgressUpdateEvent,
    ThoughtTask,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadStreamEvent,
    Workflow,
    WorkflowItem,
    WorkflowTaskAdded,
    WorkflowTaskUpdated,
)

from agent.chatkit import items
from agent.history import tool_calls_of
from agent.turn_events import (
    ReplyDelta,
    ReplyDone,
    ReplyEvent,
    ReplyReasoning,
    ReplyStarted,
    ReplyToolCalls,
    ReplyToolProgress,
    ReplyToolResult,
)

# A tool result shown in its task is cut to this many characters (the model gets it whole).
TASK_CONTENT_CHARS = 500


class ReplyView:
    """Turns one reply's events into ChatKit events; `new_id` names a workflow item, and
    `stored` collects the items the pipeline already stored (the SDK's save is skipped)."""

    def __init__(self, reply: pb.Message, new_id: Callable[[], str], stored: set[str]) -> None:
        self.reply = reply  # the assistant message being written now
        self._new_id = new_id
        self.message: AssistantMessageItem | None = None  # shown from its first word
        self.workflow: WorkflowItem | None = None
        self._workflow_started = 0.0
        self._tool_tasks: dict[str, int] = {}  # tool call id -> its task index
        self.stored = stored

    def events(self, event: ReplyEvent) -> Iterator[ThreadStreamEvent]:
        if isinstance(event, ReplyDelta):
            yield from self._close_workflow()
            yield from self._text(event.text)
        elif isinstance(event, ReplyReasoning):
            yield from self._thought(event.text)
        elif isinstance(event, ReplyToolCalls):
            yield from self._close_message()
            yield from self._tool_calls(event.message)
        elif isinstance(event, ReplyToolResult):
            yield from self._tool_result(event.message)
        elif isinstance(event, ReplyToolProgress):
            yield ProgressUpdateEvent(icon="bolt", text=event.text)
        elif isinstance(event, ReplyStarted):
            yield from self._close_message()
            self.reply = event.message
        elif isinstance(event, ReplyDone):
            yield from self._close_workflow()
            yield from self._close_message()

    def _text(self, text: str) -> Iterator[ThreadStreamEvent]:
        if self.message is None:
            self.message = AssistantMessageItem(
                id=self.reply.id,
                thread_id=self.reply.conversation_id,
                created_at=items.to_datetime(self.reply.created_at),
                content=[AssistantMessageContent(text="")],
            )
            yield ThreadItemAddedEvent(item=self.message)
        self.message.content[0].text += text
        update = AssistantMessageContentPartTextDelta(content_index=0, delta=text)
        yield ThreadItemUpdatedEvent(item_id=self.message.id, update=update)

    def _close_message(self) -> Iterator[ThreadStreamEvent]:
        if self.message is not None:
            # The pipeline stored this message in its final state already.
            self.stored.add(self.message.id)
            yield ThreadItemDoneEvent(item=self.message)
            self.message = None

    def _open_workflow(self, kind: str) -> Iterator[ThreadStreamEvent]:
        if self.workflow is None:
            self._workflow_started = time.monotonic()
            self.workflow = WorkflowItem(
                id=self._new_id(),
                thread_id=self.reply.conversation_id,
                created_at=items.to_datetime(self.reply.created_at),
                workflow=Workflow(type="reasoning" if kind == "reasoning" else "custom", tasks=[]),
            )
            self.workflow.workflow.expanded = True
            yield ThreadItemAddedEvent(item=self.workflow)

    def _add_task(self, task: CustomTask | ThoughtTask) -> Iterator[ThreadStreamEvent]:
        assert self.workflow is not None
        tasks = self.workflow.workflow.tasks
        tasks.append(task)
        update = WorkflowTaskAdded(task_index=len(tasks) - 1, task=task)
        yield ThreadItemUpdatedEvent(item_id=self.workflow.id, update=update)

    def _thought(self, text: str) -> Iterator[ThreadStreamEvent]:
        yield from self._open_workflow("reasoning")
        assert self.workflow is not None
        tasks = self.workflow.workflow.tasks
        last = tasks[-1] if tasks else None
        if isinstance(last, ThoughtTask):
            last.content += text
            update = WorkflowTaskUpdated(task_index=len(tasks) - 1, task=last)
            yield ThreadItemUpdatedEvent(item_id=self.workflow.id, update=update)
        else:
            yield from self._add_task(ThoughtTask(content=text, status_indicator="loading"))

    def _tool_calls(self, message: pb.Message) -> Iterator[ThreadStreamEvent]:
        yield from self._open_workflow("tools")
        assert self.workflow is not None
        calls = _calls(message)
        for call in calls:
            self._tool_tasks[call["id"]] = len(self.workflow.workflow.tasks)
            title = f"Calling {call['name']}"
            yield from self._add_task(CustomTask(title=title, status_indicator="loading"))
        # The tools run right after this: the client shows it while they do.
        names = ", ".join(dict.fromkeys(call["name"] for call in calls))
        yield ProgressUpdateEvent(icon="bolt", text=f"Running {names}…")

    def _tool_result(self, message: pb.Message) -> Iterator[ThreadStreamEvent]:
        answered = _calls(message)
        index = self._tool_tasks.get(answered[0]["id"]) if answered else None
        if self.workflow is None or index is None:
            return
        task = CustomTask(
            title=f"Called {answered[0]['name']}",
            content=message.content[:TASK_CONTENT_CHARS],
            status_indicator="complete",
        )
        self.workflow.workflow.tasks[index] = task
        update = WorkflowTaskUpdated(task_index=index, task=task)
        yield ThreadItemUpdatedEvent(item_id=self.workflow.id, update=update)
        del self._tool_tasks[answered[0]["id"]]
        if not self._tool_tasks:
            # Done (so stored) before the next reply's row: a reload keeps this order.
            yield from self._close_workflow()

    def _close_workflow(self) -> Iterator[ThreadStreamEvent]:
        if self.workflow is None:
            return
        workflow = self.workflow.workflow
        if not any(isinstance(task, CustomTask) for task in workflow.tasks):
            # Only thoughts: shown while they stream, not stored (nor sent to the model).
            self.stored.add(self.workflow.id)
        for task in workflow.tasks:
            task.status_indicator = "complete"
        workflow.expanded = False
        workflow.summary = DurationSummary(
            duration=round(time.monotonic() - self._workflow_started)
        )
        yield ThreadItemDoneEvent(item=self.workflow)
        self.workflow, self._tool_tasks = None, {}


def _calls(message: pb.Message) -> list[dict[str, str]]:
    """(id, name) of the tool calls stored on `message`."""
    out = []
    for call in tool_calls_of(message):
        function = call.get("function") or {}
        out.append({"id": str(call.get("id")), "name": str(function.get("name") or "tool")})
    return out
