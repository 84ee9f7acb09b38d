"""Widget actions: one registry of handlers, keyed by the action's `type`.

A widget's button or form sends an action (`threads.custom_action`, or
`threads.sync_custom_action` for a single item update). Its handler gets an `ActionCall`:
the action, the thread, the widget that sent it, and the request's context; it yields
ChatKit events (a replaced widget, an assistant message, a client effect), which the SDK
stores as it stores a reply's. An action type marked `on_client` is run by the ChatKit
client (the widget's ActionConfig says `handler: "client"`) and refused if it reaches us.

Handlers are registered like tools: a module in TOOL_MODULES may have a
`register_actions(actions)` function besides its `register_tools(tools)` (docs/tools.md).
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from chat_common.errors import DomainError, InvalidInput
from chatkit.actions import Action
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    ChatKitReq,
    ClientEffectEvent,
    StructuredInputItem,
    SyncCustomActionResponse,
    ThreadItemDoneEvent,
    ThreadItemReplacedEvent,
    ThreadMetadata,
    ThreadsAddStructuredInputReq,
    ThreadsCustomActionReq,
    ThreadsSyncCustomActionReq,
    ThreadStreamEvent,
    WidgetItem,
)
from chatkit.widgets import WidgetRoot

from agent.chatkit import widgets
from agent.chatkit.context import ChatContext
from agent.chatkit.store import ConversationsStore


class UnknownAction(DomainError):
    status, default_message = 400, "this widget action is not handled here"


@dataclass(frozen=True, slots=True)
class ActionCall:
    """One action as its handler sees it, with helpers for the events it may yield."""

    action: Action[str, Any]
    thread: ThreadMetadata
    sender: WidgetItem | None  # the widget whose button or form sent it (None: the client)
    context: ChatContext
    store: ConversationsStore

    @property
    def payload(self) -> dict[str, Any]:
        payload = self.action.payload
        return payload if isinstance(payload, dict) else {}

    def replace(self, widget: WidgetRoot, copy_text: str | None = None) -> ThreadItemReplacedEvent:
        """The sending widget shown (and stored) as `widget` from now on."""
        if self.sender is None:
            raise UnknownAction("this action was not sent by a widget")
        update: dict[str, Any] = {"widget": widget}
        if copy_text is not None:
            update["copy_text"] = copy_text
        return ThreadItemReplacedEvent(
            item=widgets.as_stored(self.sender.model_copy(update=update))
        )

    def message(self, text: str) -> ThreadItemDoneEvent:
        """An assistant message added to the thread."""
        item = AssistantMessageItem(
            id=self.store.generate_item_id("message", self.thread, self.context),
            thread_id=self.thread.id,
            created_at=datetime.now(UTC),
            content=[AssistantMessageContent(text=text)],
        )
        return ThreadItemDoneEvent(item=item)

    @staticmethod
    def effect(name: str, data: dict[str, Any] | None = None) -> ClientEffectEvent:
        """A client effect: the ChatKit client's `onEffect(name, data)` runs; nothing stored."""
        return ClientEffectEvent(name=name, data=data or {})


ActionHandler = Callable[[ActionCall], AsyncIterator[ThreadStreamEvent]]


class ActionRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, ActionHandler | None] = {}  # None: run by the client

    def add(self, action_type: str, handler: ActionHandler | None) -> None:
        """Registers `handler` for `action_type` (None: the client handles it)."""
        if action_type in self._handlers:
            raise ValueError(f"a handler for the action {action_type!r} is already registered")
        self._handlers[action_type] = handler

    def action(self, action_type: str) -> Callable[[ActionHandler], ActionHandler]:
        """Decorator form of `add`."""

        def register(handler: ActionHandler) -> ActionHandler:
            self.add(action_type, handler)
            return handler

        return register

    def on_client(self, action_type: str) -> None:
        """`action_type` is the client's to run: the server never should see it."""
        self.add(action_type, None)

    def handler(self, action_type: str) -> ActionHandler:
        """The server's handler for `action_type`; UnknownAction if there is none."""
        if action_type not in self._handlers:
            raise UnknownAction(f"the widget action {action_type!r} is not handled here")
        handler = self._handlers[action_type]
        if handler is None:
            raise UnknownAction(f"the widget action {action_type!r} is handled by the client")
        return handler

    def types(self) -> list[str]:
        return list(self._handlers)


def module_actions(module_names: Iterable[str]) -> ActionRegistry:
    """The handlers of the modules' `register_actions(actions)` (optional in each module)."""
    actions = ActionRegistry()
    for name in module_names:
        register = getattr(importlib.import_module(name), "register_actions", None)
        if callable(register):
            register(actions)
    return actions


@lru_cache(maxsize=4)
def loaded_actions(module_names: tuple[str, ...]) -> ActionRegistry:
    """One registry per process (and module list): modules are imported once."""
    return module_actions(module_names)


async def run(actions: ActionRegistry, call: ActionCall) -> AsyncIterator[ThreadStreamEvent]:
    """The handler's events (UnknownAction before any if there is no handler)."""
    async for event in actions.handler(call.action.type)(call):
        yield event


async def run_sync(actions: ActionRegistry, call: ActionCall) -> SyncCustomActionResponse:
    """`threads.sync_custom_action`: the handler's last replaced item is the answer; items it
    adds are stored, while client effects (which need a stream) are dropped."""
    updated = None
    async for event in run(actions, call):
        if isinstance(event, ThreadItemReplacedEvent):
            await call.store.save_item(call.thread.id, event.item, call.context)
            updated = event.item
        elif isinstance(event, ThreadItemDoneEvent):
            await call.store.add_thread_item(call.thread.id, event.item, call.context)
    return SyncCustomActionResponse(updated_item=updated)


async def check(
    request: ChatKitReq, actions: ActionRegistry, store: ConversationsStore, context: ChatContext
) -> bool:
    """Refuses, before anything streams, an action nobody here handles, a sender that is not
    a widget and answers to an item that asks nothing (4xx, not the SDK's 500). True for
    structured input's answers (the reply after them has no client tool to resume)."""
    if isinstance(request, ThreadsCustomActionReq | ThreadsSyncCustomActionReq):
        actions.handler(request.params.action.type)
        item_id = request.params.item_id
        if item_id is not None:
            sender = await store.check_item(request.params.thread_id, item_id, context)
            if not isinstance(sender, WidgetItem):
                raise InvalidInput("only a widget sends actions")
    if isinstance(request, ThreadsAddStructuredInputReq):
        params = request.params
        item = await store.check_item(params.thread_id, params.item_id, context)
        if not isinstance(item, StructuredInputItem) or item.status != "pending":
            raise InvalidInput("this item does not wait for answers")
        return True
    return False
