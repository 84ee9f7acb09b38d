"""Store records to protobuf messages, and request fields to store arguments."""

from __future__ import annotations

from uuid import UUID

from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import InvalidInput

from conversations.models import ConversationRecord, MessageRecord


def parse_id(value: str, name: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a UUID") from None


def optional_id(value: str, name: str) -> UUID | None:
    return parse_id(value, name) if value else None


def conversation_pb(record: ConversationRecord) -> pb.Conversation:
    message = pb.Conversation(id=str(record.id), metadata_json=record.metadata_json or "")
    if record.title is not None:
        message.title = record.title
    message.created_at.FromDatetime(record.created_at)
    message.updated_at.FromDatetime(record.updated_at)
    return message


def message_pb(record: MessageRecord) -> pb.Message:
    message = pb.Message(
        id=str(record.id),
        conversation_id=str(record.conversation_id),
        role=record.role,
        content=record.content,
        tool_calls_json=record.tool_calls_json or "",
        status=record.status,
        payload_json=record.payload_json or "",
        usage=pb.Usage(input_tokens=record.input_tokens, output_tokens=record.output_tokens),
    )
    if record.idempotency_key is not None:
        message.idempotency_key = record.idempotency_key
    message.created_at.FromDatetime(record.created_at)
    return message
