"""Small working stand-ins for the agent's two outside parts, for in-process tests of the
turn pipeline: a conversations store kept in a dict, and a model that plays a script.
They implement the methods the pipeline calls, with the same rules (final states are
final), not expectations of calls."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from agent.model import ModelEvent
from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import FailedPrecondition, NotFound

FINAL = frozenset({"complete", "failed", "interrupted"})


@dataclass
class FakeConversations:
    """The conversations service's gRPC surface, in memory, for one user."""

    messages: dict[str, pb.Message] = field(default_factory=dict)
    # Every UpdateMessage as received, heartbeats (no field set) included.
    updates: list[pb.UpdateMessageRequest] = field(default_factory=list)

    def add(self, conversation_id: str, role: str, content: str, status: str) -> pb.Message:
        message = pb.Message(
            id=str(uuid.uuid4()),
            conversation_id=conversation_id,
            role=role,
            content=content,
            status=status,
        )
        self.messages[message.id] = message
        return message

    async def update_message(self, user_id: UUID, request: pb.UpdateMessageRequest) -> pb.Message:
        self.updates.append(request)
        message = self.messages.get(request.message_id)
        if message is None:
            raise NotFound("message not found")
        changes = [
            f.name
            for f, _ in request.ListFields()
            if f.name not in ("conversation_id", "message_id")
        ]
        if message.status in FINAL and changes:
            raise FailedPrecondition("the message is final")
        for name in changes:
            if name == "usage":
                message.usage.CopyFrom(request.usage)
            else:
                setattr(message, name, getattr(request, name))
        return message

    async def get_message(self, user_id: UUID, conversation_id: str, message_id: str) -> pb.Message:
        message = self.messages.get(message_id)
        if message is None or message.conversation_id != conversation_id:
            raise NotFound("message not found")
        return message

    async def append_message(self, user_id: UUID, request: pb.AppendMessageRequest) -> pb.Message:
        message = self.add(request.conversation_id, request.role, request.content, request.status)
        message.tool_calls_json = request.tool_calls_json
        return message

    async def list_messages(self, user_id: UUID, conversation_id: str, **_: Any) -> Any:
        items = [m for m in self.messages.values() if m.conversation_id == conversation_id]
        return pb.ListMessagesResponse(items=items)

    def heartbeats(self, message_id: str) -> int:
        return sum(
            1
            for u in self.updates
            if u.message_id == message_id and len(u.ListFields()) == 2  # ids only
        )


@dataclass
class ScriptedModel:
    """Yields `events`, waiting `pause` seconds before each."""

    events: Sequence[ModelEvent]
    pause: float = 0.0

    async def stream(
        self, messages: list[dict[str, Any]], *, tools: Any = ()
    ) -> AsyncIterator[ModelEvent]:
        for event in self.events:
            await asyncio.sleep(self.pause)
            yield event
