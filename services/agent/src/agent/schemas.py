"""The wire shapes of the send route: stored messages as the REST API shows them.

Serialised by hand with orjson on the hot path; the pydantic models only
document the shapes in OpenAPI.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from chat.conversations.v1 import conversations_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, ConfigDict, Field


class SendMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, description="The user's message (up to MESSAGE_MAX_CHARS)")


class MessageOut(BaseModel):
    id: str
    conversation_id: str
    role: Literal["user", "assistant", "tool", "system"]
    content: str
    tool_calls: list[dict[str, Any]] | None
    status: Literal["complete", "in_progress", "interrupted", "failed"]
    created_at: datetime


class TurnOut(BaseModel):
    user_message: MessageOut
    assistant_message: MessageOut


class TurnFailedOut(BaseModel):
    detail: str
    assistant_message: MessageOut


def iso(ts: Timestamp) -> str:
    # Same text as pydantic gives a UTC datetime (what the conversations REST API shows).
    dt = datetime.fromtimestamp(ts.seconds, UTC).replace(microsecond=ts.nanos // 1000)
    return dt.isoformat().replace("+00:00", "Z")


def message_dict(message: pb.Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "role": message.role,
        "content": message.content,
        "tool_calls": orjson.loads(message.tool_calls_json) if message.tool_calls_json else None,
        "status": message.status,
        "created_at": iso(message.created_at),
    }
