"""Messages <-> ChatKit thread items, conversations <-> threads.

A message's `payload_json` is `{"item": <ChatKit item JSON>, "feedback": "positive"|"negative"}`
(either key optional). An item stored through the ChatKit `Store` is read back exactly as it
was saved (its id, time and every field: the store keeps what it is given); the row's role,
text and status give REST its simple view of the same item. Only a reply still being
written shows the row's current text. Messages written over REST (or by the turn pipeline)
carry no item and are converted from their role and content, so they show up in ChatKit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import InvalidInput
from chatkit.types import (
    ActiveStatus,
    AssistantMessageContent,
    AssistantMessageItem,
    HiddenContextItem,
    InferenceOptions,
    SDKHiddenContextItem,
    ThreadItem,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTagContent,
    UserMessageTextContent,
)
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import TypeAdapter, ValidationError

_ITEM = TypeAdapter[ThreadItem](ThreadItem)
# The thread's own id and time are kept too: ids the SDK chose (`thr_…`) are not row ids.
_THREAD_FIELDS = {"id", "created_at", "status", "allowed_image_domains", "metadata"}
HIDDEN = HiddenContextItem | SDKHiddenContextItem


# What a reply that did not end `complete` shows after its text: ChatKit's assistant item
# has no status field, so the status becomes a visible last part (added when read, never
# stored, so REST's text and the stored item stay as written).
STATUS_NOTES = {
    "in_progress": "_(Still being written: reload to see more.)_",
    "interrupted": "_(Stopped: this reply was interrupted before it finished.)_",
    "failed": "_(This reply failed before it finished; retry to ask again.)_",
}


def to_datetime(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def aware(moment: datetime) -> datetime:
    """The same instant with its offset: a naive time is the SDK's `datetime.now()`, local."""
    return moment if moment.tzinfo is not None else moment.astimezone()


def make_aware(item: ThreadItem | ThreadMetadata) -> None:
    """Gives the item or thread an aware `created_at`, in place: stored, streamed (the SDK
    streams the object it stored) and reloaded, a time then means one instant everywhere."""
    item.created_at = aware(item.created_at)


def load_payload(raw: str) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def dump_payload(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload).decode()


def item_payload(item: ThreadItem, previous: str = "") -> str:
    """The payload for `item`, keeping what else the message's payload held (feedback).
    An item that would not read back equal is refused (InvalidInput), never dropped."""
    payload = load_payload(previous)
    payload["item"] = item.model_dump(mode="json")
    try:
        kept = _ITEM.validate_python(payload["item"]) == item
    except ValidationError:
        kept = False
    if not kept:
        raise InvalidInput(f"a ChatKit item of type {item.type!r} cannot be stored as given")
    return dump_payload(payload)


def item_role(item: ThreadItem) -> str:
    """The row's role: hidden context is for the model (system), shown items are the
    assistant's side of the thread (REST lists them with no text)."""
    if isinstance(item, UserMessageItem):
        return "user"
    return "system" if isinstance(item, HIDDEN) else "assistant"


def item_text(item: ThreadItem) -> str:
    """The row's text (REST's view and the model's history)."""
    if isinstance(item, UserMessageItem):
        return user_text(item)
    if isinstance(item, AssistantMessageItem):
        return assistant_text(item)
    if isinstance(item, HIDDEN):
        content = item.content
        return content if isinstance(content, str) else orjson.dumps(content).decode()
    return ""


def user_text(item: UserMessageItem) -> str:
    """The message content of a user item: its text parts (tags by their visible text)."""
    return "".join(
        part.text
        for part in item.content
        if isinstance(part, UserMessageTextContent | UserMessageTagContent)
    )


def assistant_text(item: AssistantMessageItem) -> str:
    return "".join(part.text for part in item.content)


def message_to_item(message: pb.Message) -> ThreadItem:
    item = _stored_item(message) or _row_item(message)
    note = STATUS_NOTES.get(message.status) if message.role == "assistant" else None
    noted = isinstance(item, AssistantMessageItem) and any(p.text == note for p in item.content)
    if note and isinstance(item, AssistantMessageItem) and not noted:  # saved back: once
        item.content = [*item.content, AssistantMessageContent(text=note)]
    return item


def _row_item(message: pb.Message) -> ThreadItem:
    """The item a message written without one (REST, the turn pipeline) stands for."""
    created_at = to_datetime(message.created_at)
    ids = {"id": message.id, "thread_id": message.conversation_id, "created_at": created_at}
    if message.role == "assistant" and (message.content or _shown_while_empty(message)):
        # The text column is current even while a reply streams; the payload is not.
        return AssistantMessageItem(**ids, content=[AssistantMessageContent(text=message.content)])
    if message.role == "user":
        return UserMessageItem(
            **ids,
            content=[UserMessageTextContent(text=message.content)],
            inference_options=InferenceOptions(),
        )
    # Tool results, system notes and the empty steps above stay in the history, unshown.
    return HiddenContextItem(**ids, content=message.content)


def _stored_item(message: pb.Message) -> ThreadItem | None:
    """The item saved with the message, as saved (None: none, or one that no longer
    validates: the row's text is shown instead)."""
    stored = load_payload(message.payload_json).get("item")
    if not isinstance(stored, dict):
        return None
    try:
        item = _ITEM.validate_python(stored)
    except ValidationError:
        return None
    # A reply being written: its text column is current, its payload is not.
    writing = message.status == "in_progress"
    if (
        isinstance(item, AssistantMessageItem)
        and writing
        and assistant_text(item) != message.content
    ):
        item.content = [AssistantMessageContent(text=message.content)]
    return item


def _shown_while_empty(message: pb.Message) -> bool:
    # A step that only called tools has nothing to show (REST still lists it); an empty
    # reply is shown, with its status note if it did not complete.
    return not message.tool_calls_json


def conversation_to_thread(conversation: pb.Conversation) -> ThreadMetadata:
    fields: dict[str, Any] = {
        "id": conversation.id,
        "created_at": to_datetime(conversation.created_at),
        **{
            k: v for k, v in load_payload(conversation.metadata_json).items() if k in _THREAD_FIELDS
        },
        # The title column is the truth (REST renames it, the first message sets it).
        "title": conversation.title if conversation.HasField("title") else None,
    }
    try:
        return ThreadMetadata(**fields)
    except ValidationError:
        return ThreadMetadata(
            id=conversation.id,
            title=conversation.title if conversation.HasField("title") else None,
            created_at=to_datetime(conversation.created_at),
            status=ActiveStatus(),
        )


def thread_metadata_json(thread: ThreadMetadata) -> str:
    fields = thread.model_dump(mode="json", include=_THREAD_FIELDS, exclude_none=True)
    fields["created_at"] = aware(thread.created_at).isoformat()
    return dump_payload(fields)
