"""Store records to protobuf messages, and request fields to store arguments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import InvalidInput
from google.protobuf.timestamp_pb2 import Timestamp

from conversations.models import ConversationRecord, MessageRecord

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def parse_id(value: str, name: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a UUID") from None


def optional_id(value: str, name: str) -> UUID | None:
    return parse_id(value, name) if value else None


def _set_time(target: Timestamp, moment: datetime) -> None:
    # Exact integer arithmetic; several times cheaper than Timestamp.FromDatetime, which
    # matters when a history of many messages is converted on every turn.
    target.seconds = (moment - _EPOCH) // _SECOND
    target.nanos = moment.microsecond * 1000


def conversation_pb(record: ConversationRecord) -> pb.Conversation:
    message = pb.Conversation(id=record.id, metadata_json=record.metadata_json or "")
    if record.title is not None:
        message.title = record.title
    _set_time(message.created_at, record.created_at)
    _set_time(message.updated_at, record.updated_at)
    return message


def message_pb(record: MessageRecord) -> pb.Message:
    message = pb.Message(
        id=record.id,
        conversation_id=record.conversation_id,
        role=record.role,
        content=record.content,
        tool_calls_json=record.tool_calls_json or "",
        status=record.status,
        payload_json=record.payload_json or "",
        idempotency_key=record.idempotency_key,
    )
    if record.input_tokens or record.output_tokens:
        message.usage.input_tokens = record.input_tokens
        message.usage.output_tokens = record.output_tokens
    _set_time(message.created_at, record.created_at)
    return message
