"""Messages <-> ChatKit thread items, conversations <-> threads.

A message's `payload_json` is `{"item": <ChatKit item JSON>, "feedback": "positive"|"negative"}`
(either key optional). The message row is the truth for ids, times, role and text: the item
JSON only adds what a message has no column for (tags, quoted text, inference options).
Messages written over REST carry no payload and are converted from their role and content,
so REST history shows up in ChatKit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from chat.conversations.v1 import conversations_pb2 as pb
from chatkit.types import (
    ActiveStatus,
    AssistantMessageContent,
    AssistantMessageItem,
    HiddenContextItem,
    InferenceOptions,
    ThreadItem,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTagContent,
    UserMessageTextContent,
)
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import TypeAdapter, ValidationError

_ITEM = TypeAdapter[ThreadItem](ThreadItem)
_THREAD_FIELDS = {"status", "allowed_image_domains", "metadata"}


def to_datetime(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


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
    """The payload for `item`, keeping what else the message's payload held (feedback)."""
    payload = load_payload(previous)
    payload["item"] = item.model_dump(mode="json", exclude_none=True)
    return dump_payload(payload)


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
    created_at = to_datetime(message.created_at)
    ids = {"id": message.id, "thread_id": message.conversation_id, "created_at": created_at}
    if message.role == "assistant" and (message.content or _shown_while_empty(message)):
        # The text column is current even while a reply streams; the payload is not.
        return AssistantMessageItem(**ids, content=[AssistantMessageContent(text=message.content)])
    if message.role == "user":
        stored = load_payload(message.payload_json).get("item")
        if isinstance(stored, dict) and stored.get("type") == "user_message":
            try:
                return _ITEM.validate_python({**stored, **ids})
            except ValidationError:
                pass  # an older or foreign payload: fall back to the text
        return UserMessageItem(
            **ids,
            content=[UserMessageTextContent(text=message.content)],
            inference_options=InferenceOptions(),
        )
    # Tool results, system notes and the empty steps above stay in the history, unshown.
    return HiddenContextItem(**ids, content=message.content)


def _shown_while_empty(message: pb.Message) -> bool:
    # A step that only called tools, or a reply that failed before its first word, has
    # nothing to show (REST still lists it, with its status).
    return not message.tool_calls_json and message.status in ("complete", "in_progress")


def conversation_to_thread(conversation: pb.Conversation) -> ThreadMetadata:
    extra = {
        k: v for k, v in load_payload(conversation.metadata_json).items() if k in _THREAD_FIELDS
    }
    try:
        return ThreadMetadata(
            id=conversation.id,
            title=conversation.title if conversation.HasField("title") else None,
            created_at=to_datetime(conversation.created_at),
            **extra,
        )
    except ValidationError:
        return ThreadMetadata(
            id=conversation.id,
            title=conversation.title if conversation.HasField("title") else None,
            created_at=to_datetime(conversation.created_at),
            status=ActiveStatus(),
        )


def thread_metadata_json(thread: ThreadMetadata) -> str:
    return dump_payload(thread.model_dump(mode="json", include=_THREAD_FIELDS, exclude_none=True))
