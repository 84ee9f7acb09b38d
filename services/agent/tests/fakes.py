"""A small working stand-in for the conversations service, kept in dicts, for in-process
tests of the turn pipeline and the ChatKit server (the model's is in fake_model.py), and
the real pipeline built over both.

They keep the real service's rules, not expectations of calls: every call is scoped to
its user (anyone else's conversation is NotFound, like a missing or deleted one),
messages are listed oldest first, final states are final (FailedPrecondition), and a
turn started again with the same idempotency key replays the first one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar, cast
from uuid import UUID

import orjson
from agent.settings import Settings
from agent.tools import ToolRegistry
from agent.turns import TurnPipeline
from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import Conflict, FailedPrecondition, InvalidInput, NotFound, RateLimited
from conversations.checks import auto_title
from google.protobuf.message import Message as Proto
from google.protobuf.timestamp_pb2 import Timestamp

from services.agent.tests.fake_model import ScriptedModel

FINAL: Final = frozenset({"complete", "failed", "interrupted"})
# What a final message keeps; a payload-only write (ChatKit feedback, items) stays allowed.
_FINAL_FIELDS: Final = frozenset({"content", "status", "tool_calls_json", "usage"})
P = TypeVar("P", bound=Proto)


def _snapshot(message: P) -> P:
    """What a gRPC answer is: a copy, which later writes to the store do not change."""
    copy = type(message)()
    copy.CopyFrom(message)
    return copy


@dataclass
class _Conversation:
    owner: UUID
    row: pb.Conversation
    deleted: bool = False


@dataclass
class FakeConversations:
    """ConversationsClient's methods (each takes the acting user first), in memory."""

    conversations: dict[str, _Conversation] = field(default_factory=dict)
    messages: dict[str, pb.Message] = field(default_factory=dict)  # insertion order: `seq`
    # Every UpdateMessage as received, heartbeats (no field set) included.
    updates: list[pb.UpdateMessageRequest] = field(default_factory=list)
    # (conversation id, idempotency key) -> (user message id, reply id) of the first turn.
    _turns: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    # User message id -> the reply StartReply started for it.
    _replies: dict[str, str] = field(default_factory=dict)
    # Set: StartReply refuses with it, as the real service does over a budget.
    refuse_replies: RateLimited | None = None
    _started: datetime = field(default_factory=lambda: datetime.now(UTC))
    _ticks: int = 0

    # -- arranging a test (synchronous) --------------------------------------------------

    def conversation(self, user_id: UUID, *, title: str | None = None) -> str:
        """A new conversation of `user_id`; its id."""
        row = pb.Conversation(id=str(uuid.uuid4()), title=title)
        row.created_at.CopyFrom(self._now())
        row.updated_at.CopyFrom(row.created_at)
        self.conversations[row.id] = _Conversation(user_id, row)
        return row.id

    def add(
        self,
        conversation_id: str,
        role: str,
        content: str,
        status: str = "complete",
        *,
        tool_calls_json: str = "",
    ) -> pb.Message:
        """Stores a message as it is, with no checks (history a test starts from)."""
        message = pb.Message(
            id=str(uuid.uuid4()),
            conversation_id=conversation_id,
            role=role,
            content=content,
            status=status,
            tool_calls_json=tool_calls_json,
        )
        message.created_at.CopyFrom(self._now())
        self.messages[message.id] = message
        return _snapshot(message)

    def in_conversation(self, conversation_id: str) -> list[pb.Message]:
        """Its stored messages, oldest first (as stored now, not snapshots)."""
        return [m for m in self.messages.values() if m.conversation_id == conversation_id]

    def heartbeats(self, message_id: str) -> int:
        return sum(
            1
            for u in self.updates
            if u.message_id == message_id and len(u.ListFields()) == 2  # ids only
        )

    def content_writes(self, message_id: str) -> int:
        """UpdateMessages that carried the reply's text while it was in progress."""
        return sum(
            1
            for u in self.updates
            if u.message_id == message_id and u.HasField("content") and not u.HasField("status")
        )

    # -- conversations -------------------------------------------------------------------

    async def create_conversation(
        self,
        user_id: UUID,
        *,
        title: str | None = None,
        id: str | None = None,
        metadata_json: str = "",
    ) -> pb.Conversation:
        if id is not None and id in self.conversations:
            raise Conflict("a conversation with this id already exists")
        row = pb.Conversation(id=id or str(uuid.uuid4()), title=title, metadata_json=metadata_json)
        row.created_at.CopyFrom(self._now())
        row.updated_at.CopyFrom(row.created_at)
        self.conversations[row.id] = _Conversation(user_id, row)
        return _snapshot(row)

    async def get_conversation(self, user_id: UUID, conversation_id: str) -> pb.Conversation:
        return _snapshot(self._owned(user_id, conversation_id).row)

    async def list_conversations(
        self, user_id: UUID, *, limit: int = 20, cursor: str = ""
    ) -> pb.ListConversationsResponse:
        """Newest activity first; `next_cursor` (here: the last id) continues after it."""
        live = [c.row for c in self.conversations.values() if c.owner == user_id and not c.deleted]
        live.sort(key=lambda row: (row.updated_at.ToNanoseconds(), row.id), reverse=True)
        ids = [row.id for row in live]
        if cursor and cursor not in ids:
            raise InvalidInput("not a cursor of ours")
        start = ids.index(cursor) + 1 if cursor else 0
        page = live[start : start + (limit or 20)]
        more = start + len(page) < len(live)
        return pb.ListConversationsResponse(
            items=[_snapshot(row) for row in page], next_cursor=page[-1].id if more else ""
        )

    async def list_threads(
        self, user_id: UUID, *, limit: int, after_id: str = "", oldest_first: bool = False
    ) -> pb.ListConversationsResponse:
        """By creation time (newest first unless `oldest_first`), after `after_id`."""
        live = [c.row for c in self.conversations.values() if c.owner == user_id and not c.deleted]
        live.sort(key=lambda row: (row.created_at.ToNanoseconds(), row.id))
        if not oldest_first:
            live.reverse()
        ids = [row.id for row in live]
        if after_id and after_id not in ids:
            raise NotFound("conversation not found")
        start = ids.index(after_id) + 1 if after_id else 0
        page = live[start : start + limit]
        more = start + len(page) < len(live)
        return pb.ListConversationsResponse(
            items=[_snapshot(row) for row in page], next_cursor=page[-1].id if more else ""
        )

    async def update_conversation(
        self,
        user_id: UUID,
        conversation_id: str,
        *,
        title: str | None = None,
        metadata_json: str | None = None,
    ) -> pb.Conversation:
        row = self._owned(user_id, conversation_id).row
        if title is not None:  # "" clears it
            if title:
                row.title = title
            else:
                row.ClearField("title")
            row.updated_at.CopyFrom(self._now())
        if metadata_json is not None:
            row.metadata_json = metadata_json
        return _snapshot(row)

    async def delete_conversation(self, user_id: UUID, conversation_id: str) -> None:
        self._owned(user_id, conversation_id).deleted = True

    # -- messages ------------------------------------------------------------------------

    async def append_message(self, user_id: UUID, request: pb.AppendMessageRequest) -> pb.Message:
        self._owned(user_id, request.conversation_id)
        if request.HasField("id") and request.id in self.messages:
            raise Conflict("a message with this id already exists")
        message = self._store(
            request.conversation_id,
            role=request.role,
            content=request.content,
            status=request.status or "complete",
            message_id=request.id if request.HasField("id") else None,
        )
        message.tool_calls_json = request.tool_calls_json
        message.payload_json = request.payload_json
        message.usage.CopyFrom(request.usage)
        return _snapshot(message)

    async def start_turn(self, user_id: UUID, request: pb.StartTurnRequest) -> pb.StartTurnResponse:
        self._owned(user_id, request.conversation_id)
        if not request.content.strip():
            raise InvalidInput("the message is empty")
        key = (request.conversation_id, request.idempotency_key)
        if request.idempotency_key and key in self._turns:
            return self._replay(request, *self._turns[key])
        user = self._store(request.conversation_id, role="user", content=request.content)
        user.payload_json = request.payload_json
        if request.idempotency_key:
            user.idempotency_key = request.idempotency_key
        reply = self._store(request.conversation_id, role="assistant", status="in_progress")
        if request.idempotency_key:
            self._turns[key] = (user.id, reply.id)
        return self._turn(request, user, reply, replayed=False)

    async def start_reply(
        self, user_id: UUID, request: pb.StartReplyRequest
    ) -> pb.StartReplyResponse:
        user = self._message(user_id, request.conversation_id, request.user_message_id)
        if not _answerable(user, continuation=request.continuation):
            raise NotFound("message not found")
        replied = self._replies.get(user.id) in self.messages
        if replied and not request.retry:
            reply_id = self._replies[user.id]
            return pb.StartReplyResponse(
                assistant_message=_snapshot(self.messages[reply_id]), replayed=True
            )
        if self.refuse_replies is not None:
            raise self.refuse_replies
        if request.retry:  # as conversations does: after the charge, in one transaction
            for later in self._after(request.conversation_id, user.id):
                del self.messages[later.id]
        reply = self._store(request.conversation_id, role="assistant", status="in_progress")
        self._replies[user.id] = reply.id
        before = self._before(request.conversation_id, reply.id)
        history = before[-request.history_limit :] if request.history_limit else []
        return pb.StartReplyResponse(
            assistant_message=_snapshot(reply), history=[_snapshot(m) for m in history]
        )

    def _replay(
        self, request: pb.StartTurnRequest, user_id: str, reply_id: str
    ) -> pb.StartTurnResponse:
        user = self.messages[user_id]
        if user.content != request.content:
            raise Conflict("this idempotency key was already used with different content")
        return self._turn(request, user, self.messages[reply_id], replayed=True)

    def _turn(
        self, request: pb.StartTurnRequest, user: pb.Message, reply: pb.Message, *, replayed: bool
    ) -> pb.StartTurnResponse:
        # The history the reply answers: the latest `history_limit` messages before it.
        before = self._before(request.conversation_id, reply.id)
        history = before[-request.history_limit :] if request.history_limit else []
        return pb.StartTurnResponse(
            user_message=_snapshot(user),
            assistant_message=_snapshot(reply),
            replayed=replayed,
            history=[_snapshot(m) for m in history],
        )

    async def update_message(self, user_id: UUID, request: pb.UpdateMessageRequest) -> pb.Message:
        self.updates.append(_snapshot(request))
        message = self._message(user_id, request.conversation_id, request.message_id)
        changes = {f.name for f, _ in request.ListFields()} - {"conversation_id", "message_id"}
        if message.status in FINAL and (
            not changes  # a heartbeat keeps only an in-progress reply alive
            or any(getattr(request, n) != getattr(message, n) for n in changes & _FINAL_FIELDS)
        ):
            raise FailedPrecondition(f"the message is already {message.status}")
        for name in changes:
            if name == "usage":
                message.usage.CopyFrom(request.usage)
            else:
                setattr(message, name, getattr(request, name))
        return _snapshot(message)

    async def get_message(self, user_id: UUID, conversation_id: str, message_id: str) -> pb.Message:
        return _snapshot(self._message(user_id, conversation_id, message_id))

    async def delete_message(self, user_id: UUID, conversation_id: str, message_id: str) -> None:
        del self.messages[self._message(user_id, conversation_id, message_id).id]

    async def list_messages(
        self,
        user_id: UUID,
        conversation_id: str,
        *,
        limit: int = 50,
        before: str = "",
        after: str = "",
        oldest_first: bool = False,
    ) -> pb.ListMessagesResponse:
        """Oldest first: the latest `limit` (the first, with `oldest_first`), or the page
        next to the message `before`/`after` names."""
        self._owned(user_id, conversation_id)
        limit = limit or 50
        if before:
            window = self._before(conversation_id, before)
        elif after:
            window = self._after(conversation_id, after)
        else:
            window = self.in_conversation(conversation_id)
        newest = bool(before) or not (after or oldest_first)
        page = window[-limit:] if newest else window[:limit]
        return pb.ListMessagesResponse(
            items=[_snapshot(m) for m in page], has_more=len(window) > limit
        )

    async def set_feedback(
        self, user_id: UUID, conversation_id: str, message_ids: list[str], feedback: str
    ) -> None:
        """All or nothing: any id not of this conversation is NotFound, nothing changes."""
        self._owned(user_id, conversation_id)
        distinct = list(dict.fromkeys(message_ids))
        if not 0 < len(distinct) <= 50 or feedback not in ("", "positive", "negative"):
            raise InvalidInput("give 1..50 message ids and positive, negative or nothing")
        found = [self.messages.get(i) for i in distinct]
        targets = [m for m in found if m is not None and m.conversation_id == conversation_id]
        if len(targets) != len(distinct):
            raise NotFound("message not found")
        for message in targets:
            payload = orjson.loads(message.payload_json or "{}")
            for key in ("feedback", "feedback_at"):
                payload.pop(key, None)
            if feedback:
                payload.update(feedback=feedback, feedback_at=datetime.now(UTC).isoformat())
            message.payload_json = orjson.dumps(payload).decode()

    # -- the rules -----------------------------------------------------------------------

    def _owned(self, user_id: UUID, conversation_id: str) -> _Conversation:
        conversation = self.conversations.get(conversation_id)
        if conversation is None or conversation.owner != user_id or conversation.deleted:
            raise NotFound("conversation not found")
        return conversation

    def _message(self, user_id: UUID, conversation_id: str, message_id: str) -> pb.Message:
        conversation = self.conversations.get(conversation_id)
        message = self.messages.get(message_id)
        if (
            conversation is None
            or conversation.owner != user_id
            or conversation.deleted
            or message is None
            or message.conversation_id != conversation_id
        ):
            raise NotFound("message not found")
        return message

    def _before(self, conversation_id: str, message_id: str) -> list[pb.Message]:
        ids = [m.id for m in self.in_conversation(conversation_id)]
        if message_id not in ids:
            raise InvalidInput("before/after must be the id of a message of this conversation")
        return self.in_conversation(conversation_id)[: ids.index(message_id)]

    def _after(self, conversation_id: str, message_id: str) -> list[pb.Message]:
        upto = len(self._before(conversation_id, message_id)) + 1
        return self.in_conversation(conversation_id)[upto:]

    def _store(
        self,
        conversation_id: str,
        *,
        role: str,
        content: str = "",
        status: str = "complete",
        message_id: str | None = None,
    ) -> pb.Message:
        """Stores a new message and moves its conversation's activity (and maybe title)."""
        row = self.conversations[conversation_id].row
        message = pb.Message(
            id=message_id or str(uuid.uuid4()),
            conversation_id=conversation_id,
            role=role,
            content=content,
            status=status,
        )
        message.created_at.CopyFrom(self._now())
        row.updated_at.CopyFrom(message.created_at)
        if role == "user" and not row.HasField("title") and (title := auto_title(content)):
            row.title = title
        self.messages[message.id] = message
        return message

    def _now(self) -> Timestamp:
        """A clock that moves a millisecond per write: orders are exact, never ties."""
        self._ticks += 1
        stamp = Timestamp()
        stamp.FromDatetime(self._started + timedelta(milliseconds=self._ticks))
        return stamp


def make_pipeline(
    conversations: FakeConversations,
    model: ScriptedModel,
    *,
    tools: ToolRegistry | None = None,
    **settings: Any,
) -> TurnPipeline:
    """The real pipeline over the fakes; `settings` override quick test defaults."""
    defaults: dict[str, Any] = {
        "agent_client_secret": "s" * 32,
        "system_prompt": "",
        "content_flush_seconds": 0.0,
        "replay_wait_seconds": 2.0,
    }
    return TurnPipeline(
        conversations=cast(Any, conversations),
        model=cast(Any, model),
        settings=Settings(**{**defaults, **settings}),
        tools=tools,
    )


def _answerable(message: pb.Message, *, continuation: bool) -> bool:
    """What StartReply may anchor a reply on: a user message, or for a continuation a tool
    result or an answered structured-input item."""
    if not continuation:
        return message.role == "user"
    item = orjson.loads(message.payload_json).get("item", {}) if message.payload_json else {}
    answered = item.get("type") == "structured_input" and item.get("status") != "pending"
    return message.role == "tool" or answered
