"""Widgets from tools: a tool shows a ChatKit widget to the user beside the text it returns
to the model.

    from agent.chatkit import widgets

    async def weather(args, context):
        await widgets.show(Card(children=[Text(value="21 °C")]), copy_text="21 °C")
        return "21 °C in Paris"  # what the model reads

While a ChatKit reply runs its tools, the server collects what they show and, after each
tool result, streams it as a `widget` item; the SDK stores it like any item, so a reload
shows it (and an action can replace it later). Over REST there is no client to show a
widget: `show` does nothing and the model's text is the answer. A `.widget` template
(ChatKit Studio's export) is `template(path).build(data)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from chatkit.store import Store
from chatkit.types import ThreadItemDoneEvent, ThreadMetadata, WidgetItem
from chatkit.widgets import WidgetRoot, WidgetTemplate


@dataclass(frozen=True, slots=True)
class Shown:
    widget: WidgetRoot
    copy_text: str | None


# The widgets shown by the tools of the ChatKit reply running in this task (None: REST).
_shown: ContextVar[list[Shown] | None] = ContextVar("chatkit_shown_widgets", default=None)


async def show(widget: WidgetRoot, *, copy_text: str | None = None) -> None:
    """Shows `widget` after the running tool's result (ChatKit only; REST: nothing)."""
    shown = _shown.get()
    if shown is not None:
        shown.append(Shown(widget, copy_text))


def collect() -> list[Shown]:
    """From now on in this task (the server's reply), what the tools show is collected in
    the list returned (tools run in tasks the reply starts: they copy this context)."""
    shown: list[Shown] = []
    _shown.set(shown)
    return shown


def items(
    shown: list[Shown], thread: ThreadMetadata, store: Store[Any], context: Any
) -> Iterator[ThreadItemDoneEvent]:
    """The collected widgets as done items (the SDK stores them), emptying `shown`."""
    while shown:
        widget = shown.pop(0)
        item = WidgetItem(
            id=store.generate_item_id("message", thread, context),
            thread_id=thread.id,
            created_at=datetime.now(UTC),
            widget=widget.widget,
            copy_text=widget.copy_text,
        )
        yield ThreadItemDoneEvent(item=as_stored(item))


def as_stored(item: WidgetItem) -> WidgetItem:
    """`item` as it reads back: a template's dynamic root becomes the typed widget it
    stands for (the store keeps only items that read back equal)."""
    return WidgetItem.model_validate(item.model_dump(mode="json"))


@lru_cache(maxsize=32)
def template(path: str) -> WidgetTemplate:
    """A `.widget` file, read once per process."""
    return WidgetTemplate.from_file(path)
