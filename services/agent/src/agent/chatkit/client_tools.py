"""Client tools over ChatKit (CLIENT_TOOLS, agent/tools/client.py): the model calls a tool
the ChatKit client runs.

The turn ends there: the round's other (server) calls are run and stored, and a pending
`client_tool_call` item is stored last in the thread. `threads.add_client_tool_output`
(the SDK marks that item completed with the client's output) resumes the turn on any
replica, because the pending call is a row in the database, not state in memory: the
output is stored as the call's `tool` result and the next reply answers the thread's
last user message, with the tool round in its history. That reply is started by StartReply
as a continuation anchored on the result row: charged to the user's turn budget like any
turn, and once per result (a repeated output gets an error, not another model call).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import Conflict
from chatkit.types import (
    ClientToolCallItem,
    ThreadItemDoneEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    UserMessageItem,
)

from agent.chatkit import continuations
from agent.chatkit.context import ChatContext
from agent.chatkit.store import ConversationsStore, row_id
from agent.history import tool_calls_of
from agent.tools import ToolRegistry
from agent.turn_events import ReplyDone, ReplyEvent, ReplyToolCalls

ONE_AT_A_TIME = "error: the chat client runs one tool call at a time; call it again"


class ShownReply(Protocol):
    """What the server shows of a reply (reply_view.ReplyView)."""

    reply: pb.Message

    def events(self, event: ReplyEvent) -> Iterator[ThreadStreamEvent]: ...


def client_round(event: ReplyEvent, tools: ToolRegistry | None) -> pb.Message | None:
    """The tool-calling message of `event` if the ChatKit client must run one of its calls."""
    if not isinstance(event, ReplyToolCalls) or tools is None:
        return None
    calls = tool_calls_of(event.message)
    return event.message if any(tools.on_client(_name(call)) for call in calls) else None


async def hand_over(
    store: ConversationsStore,
    thread: ThreadMetadata,
    view: ShownReply,
    message: pb.Message,
    context: ChatContext,
) -> AsyncIterator[ThreadStreamEvent]:
    """Ends the shown round, runs its server calls, then yields the pending client call (the
    SDK stores it: the thread's last item, as `threads.add_client_tool_output` expects)."""
    for shown in view.events(ReplyDone(view.reply)):
        yield shown
    tools = store.pipeline.tools
    assert tools is not None
    pending: dict[str, Any] | None = None
    for call in tool_calls_of(message):
        if tools.on_client(_name(call)) and pending is None:
            pending = call
            continue
        on_client = tools.on_client(_name(call))
        result = ONE_AT_A_TIME if on_client else await tools.run(_name(call), _arguments(call))
        await _store_result(store, message.conversation_id, call, result, context)
    assert pending is not None
    item = ClientToolCallItem(
        id=store.generate_item_id("tool_call", thread, context),
        thread_id=thread.id,
        created_at=datetime.now(UTC),
        call_id=str(pending.get("id")),
        name=_name(pending),
        arguments=_argument_dict(pending),
    )
    yield ThreadItemDoneEvent(item=item)


async def resume(
    store: ConversationsStore, thread: ThreadMetadata, context: ChatContext
) -> UserMessageItem | None:
    """After the client's output: stores it as the call's result and returns the user message
    the next reply answers, its new reply ready in `context.replies` (None: no completed
    client call to resume from). The reply is a continuation anchored on the result."""
    page = await store.load_thread_items(thread.id, None, continuations.LOOK_BACK, "desc", context)
    call = next((i for i in page.data if isinstance(i, ClientToolCallItem)), None)
    user = next((i for i in page.data if isinstance(i, UserMessageItem)), None)
    if call is None or call.status != "completed" or user is None:
        return None
    chat_call = {
        "id": call.call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": orjson.dumps(call.arguments).decode()},
    }
    conversation_id = row_id(context, thread.id)  # the row's id (a thread id may not be)
    # The result's row id comes from the call item's: a repeated output stores no second
    # result, and the reply anchored on it (once per anchor) starts no second turn.
    result_id = row_id(context, f"{call.id}/output", conversation_id)
    result = output_text(call.output)
    with suppress(Conflict):  # stored already: a repeat, refused by StartReply below
        await _store_result(store, conversation_id, chat_call, result, context, result_id)
    return await continuations.go_on(store, thread, user, result_id, context)


def output_text(output: Any) -> str:
    """The client's output as the text the model reads."""
    return output if isinstance(output, str) else orjson.dumps(output).decode()


async def _store_result(
    store: ConversationsStore,
    conversation_id: str,
    call: dict[str, Any],
    result: str,
    context: ChatContext,
    message_id: str | None = None,
) -> None:
    request = pb.AppendMessageRequest(
        id=message_id,
        conversation_id=conversation_id,
        role="tool",
        content=result,
        status="complete",
        tool_calls_json=orjson.dumps([call]).decode(),
    )
    await store.client.append_message(context.user_id, request)


def _name(call: dict[str, Any]) -> str:
    return str((call.get("function") or {}).get("name") or "")


def _arguments(call: dict[str, Any]) -> str:
    return str((call.get("function") or {}).get("arguments") or "")


def _argument_dict(call: dict[str, Any]) -> dict[str, Any]:
    try:
        arguments = orjson.loads(_arguments(call) or "{}")
    except orjson.JSONDecodeError:
        return {}
    return arguments if isinstance(arguments, dict) else {}
