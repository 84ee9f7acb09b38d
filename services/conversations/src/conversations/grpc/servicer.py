"""The gRPC door: the same `store` as REST, the same rules. The caller is the verified
user from AuthInterceptor; domain errors become statuses in ErrorInterceptor."""

from __future__ import annotations

from typing import Any, Final

from chat.conversations.v1 import conversations_pb2 as pb
from chat.conversations.v1 import conversations_pb2_grpc as pb_grpc
from chat_common.errors import InvalidInput
from google.protobuf.message import Message

from conversations import accounts, feedback, reply_start, store
from conversations.budgets import TurnBudget
from conversations.db import Pool, connection
from conversations.grpc.attachments import AttachmentsRpc
from conversations.grpc.convert import conversation_pb, message_pb, optional_id, parse_id
from conversations.grpc.interceptors import (
    PURGE_ACCOUNTS_SCOPE,
    current_caller,
    current_user,
    require_agent,
    require_service_scope,
)
from conversations.grpc.limits import bounded, fit_history
from conversations.patches import UNSET, ConversationPatch, MessagePatch, Unset
from conversations.settings import Settings

Context = Any  # grpc.aio.ServicerContext; the servicer never needs more than the request

# The agent loads HISTORY_LIMIT messages per turn, so it may list more than REST's 100;
# a user's own token gets REST's limit.
GRPC_MAX_HISTORY: Final = 1000
USER_MAX_PAGE: Final = 100
# Roles only the agent writes: a user's token may append its own words, nothing else.
AGENT_ROLES: Final = frozenset({"assistant", "tool", "system"})


class ConversationsServicer(AttachmentsRpc, pb_grpc.ConversationsServiceServicer):
    def __init__(self, pool: Pool, settings: Settings) -> None:
        self._pool = pool
        self._attachment_max_bytes = settings.attachment_max_bytes
        self._max_chars = settings.message_max_chars
        self._payload_max = settings.message_payload_max_bytes
        self._budget = TurnBudget.from_settings(settings)

    async def CreateConversation(
        self, request: pb.CreateConversationRequest, context: Context
    ) -> pb.Conversation:
        async with connection(self._pool) as db:
            record = await store.create_conversation(
                db,
                user_id=current_user(),
                title=request.title if request.HasField("title") else None,
                conversation_id=optional_id(request.id, "id"),
                metadata_json=request.metadata_json,
                payload_max_bytes=self._payload_max,
            )
        return conversation_pb(record)

    async def GetConversation(
        self, request: pb.GetConversationRequest, context: Context
    ) -> pb.Conversation:
        conversation_id = parse_id(request.conversation_id, "conversation_id")
        async with connection(self._pool) as db:
            record = await store.get_conversation(
                db, user_id=current_user(), conversation_id=conversation_id
            )
        return conversation_pb(record)

    async def ListConversations(
        self, request: pb.ListConversationsRequest, context: Context
    ) -> pb.ListConversationsResponse:
        limit = request.limit or store.DEFAULT_PAGE_SIZE
        async with connection(self._pool) as db:
            if request.by_created_at:
                page = await store.list_conversations_by_created(
                    db,
                    user_id=current_user(),
                    limit=limit,
                    after_id=parse_id(request.after_id, "after_id") if request.after_id else None,
                    oldest_first=request.oldest_first,
                )
            else:
                page = await store.list_conversations(
                    db, user_id=current_user(), limit=limit, cursor=request.cursor or None
                )
        response = pb.ListConversationsResponse(
            items=[conversation_pb(c) for c in page.conversations],
            next_cursor=page.next_cursor or "",
        )
        return bounded(response, "the page")

    async def UpdateConversation(
        self, request: pb.UpdateConversationRequest, context: Context
    ) -> pb.Conversation:
        conversation_id = parse_id(request.conversation_id, "conversation_id")
        patch = ConversationPatch(
            title=_clearable(request, "title"), metadata_json=_clearable(request, "metadata_json")
        )
        async with connection(self._pool) as db:
            record = await store.update_conversation(
                db,
                user_id=current_user(),
                conversation_id=conversation_id,
                patch=patch,
                payload_max_bytes=self._payload_max,
            )
        return conversation_pb(record)

    async def DeleteConversation(
        self, request: pb.DeleteConversationRequest, context: Context
    ) -> pb.DeleteConversationResponse:
        conversation_id = parse_id(request.conversation_id, "conversation_id")
        async with connection(self._pool) as db:
            await store.delete_conversation(
                db, user_id=current_user(), conversation_id=conversation_id
            )
        return pb.DeleteConversationResponse()

    async def AppendMessage(self, request: pb.AppendMessageRequest, context: Context) -> pb.Message:
        conversation_id = parse_id(request.conversation_id, "conversation_id")
        message_id = optional_id(request.id, "id") if request.HasField("id") else None
        user_id = require_agent() if request.role in AGENT_ROLES else current_user()
        async with connection(self._pool) as db:
            record = await store.append_message(
                db,
                user_id=user_id,
                conversation_id=conversation_id,
                role=request.role,
                content=request.content,
                max_chars=self._max_chars,
                payload_max_bytes=self._payload_max,
                status=request.status or "complete",
                tool_calls_json=request.tool_calls_json,
                payload_json=request.payload_json,
                message_id=message_id,
                input_tokens=request.usage.input_tokens,
                output_tokens=request.usage.output_tokens,
            )
        return message_pb(record)

    async def StartTurn(
        self, request: pb.StartTurnRequest, context: Context
    ) -> pb.StartTurnResponse:
        conversation_id = parse_id(request.conversation_id, "conversation_id")
        key = request.idempotency_key or None  # an empty key is no key
        user_id = require_agent()  # a turn stores the agent's reply too
        async with connection(self._pool) as db:
            turn = await store.start_turn(
                db,
                user_id=user_id,
                conversation_id=conversation_id,
                content=request.content,
                max_chars=self._max_chars,
                payload_max_bytes=self._payload_max,
                idempotency_key=key,
                payload_json=request.payload_json,
                history_limit=request.history_limit,  # 0 (unset): no history
                max_history=GRPC_MAX_HISTORY,
                budget=self._budget,
            )
        response = pb.StartTurnResponse(
            user_message=message_pb(turn.user_message),
            replayed=turn.replayed,
            history=[message_pb(m) for m in turn.history or ()],
        )
        if turn.assistant_message is not None:
            response.assistant_message.CopyFrom(message_pb(turn.assistant_message))
        fit_history(response)  # the turn is stored: shed old history rather than fail
        return response

    async def StartReply(
        self, request: pb.StartReplyRequest, context: Context
    ) -> pb.StartReplyResponse:
        conversation_id = parse_id(request.conversation_id, "conversation_id")
        user_message_id = parse_id(request.user_message_id, "user_message_id")
        user_id = require_agent()  # the reply is the agent's to write
        async with connection(self._pool) as db:
            started = await reply_start.start_reply(
                db,
                user_id=user_id,
                conversation_id=conversation_id,
                user_message_id=user_message_id,
                history_limit=request.history_limit,
                max_history=GRPC_MAX_HISTORY,
                budget=self._budget,
                continuation=request.continuation,
                retry=request.retry,
            )
        response = pb.StartReplyResponse(
            assistant_message=message_pb(started.assistant_message),
            replayed=started.replayed,
            history=[message_pb(m) for m in started.history or ()],
        )
        fit_history(response)  # the reply is stored: shed old history rather than fail
        return response

    async def UpdateMessage(self, request: pb.UpdateMessageRequest, context: Context) -> pb.Message:
        conversation_id = parse_id(request.conversation_id, "conversation_id")
        message_id = parse_id(request.message_id, "message_id")
        patch = message_patch(request)
        user_id = require_agent()  # replies are the agent's to write
        async with connection(self._pool) as db:
            record = await store.update_message(
                db,
                user_id=user_id,
                conversation_id=conversation_id,
                message_id=message_id,
                patch=patch,
                max_chars=self._max_chars,
                payload_max_bytes=self._payload_max,
            )
        return message_pb(record)

    async def GetMessage(self, request: pb.GetMessageRequest, context: Context) -> pb.Message:
        conversation_id = parse_id(request.conversation_id, "conversation_id")
        message_id = parse_id(request.message_id, "message_id")
        async with connection(self._pool) as db:
            record = await store.get_message(
                db, user_id=current_user(), conversation_id=conversation_id, message_id=message_id
            )
        return message_pb(record)

    async def DeleteMessage(
        self, request: pb.DeleteMessageRequest, context: Context
    ) -> pb.DeleteMessageResponse:
        conversation_id = parse_id(request.conversation_id, "conversation_id")
        message_id = parse_id(request.message_id, "message_id")
        async with connection(self._pool) as db:
            await store.delete_message(
                db, user_id=current_user(), conversation_id=conversation_id, message_id=message_id
            )
        return pb.DeleteMessageResponse()

    async def ListMessages(
        self, request: pb.ListMessagesRequest, context: Context
    ) -> pb.ListMessagesResponse:
        conversation_id = parse_id(request.conversation_id, "conversation_id")
        before = optional_id(request.before, "before")
        after = optional_id(request.after, "after")
        caller = current_caller()
        async with connection(self._pool) as db:
            page = await store.list_messages(
                db,
                user_id=caller.user_id,
                conversation_id=conversation_id,
                limit=request.limit or store.DEFAULT_HISTORY_SIZE,
                max_limit=GRPC_MAX_HISTORY if caller.is_agent else USER_MAX_PAGE,
                before=before,
                after=after,
                oldest_first=request.oldest_first,
            )
        response = pb.ListMessagesResponse(
            items=[message_pb(m) for m in page.messages], has_more=page.has_more
        )
        return bounded(response, "the page")

    async def SetFeedback(
        self, request: pb.SetFeedbackRequest, context: Context
    ) -> pb.SetFeedbackResponse:
        conversation_id = parse_id(request.conversation_id, "conversation_id")
        if len(request.message_ids) > 10 * feedback.FEEDBACK_MAX_IDS:  # before parsing them
            raise InvalidInput(f"give 1..{feedback.FEEDBACK_MAX_IDS} distinct message ids")
        message_ids = [parse_id(i, "message_ids") for i in request.message_ids]
        async with connection(self._pool) as db:
            updated = await feedback.set_feedback(
                db,
                user_id=current_user(),
                conversation_id=conversation_id,
                message_ids=message_ids,
                feedback=request.feedback or None,  # "" clears it
            )
        return pb.SetFeedbackResponse(updated=updated)

    async def DeleteAccountData(
        self, request: pb.DeleteAccountDataRequest, context: Context
    ) -> pb.DeleteAccountDataResponse:
        require_service_scope(PURGE_ACCOUNTS_SCOPE)  # auth, deleting an account
        user_id = parse_id(request.user_id, "user_id")
        deleted = await accounts.delete_account_data(self._pool, user_id=user_id)
        return pb.DeleteAccountDataResponse(
            conversations_deleted=deleted.conversations, messages_deleted=deleted.messages
        )


def message_patch(request: pb.UpdateMessageRequest) -> MessagePatch:
    """The fields the request sets; the rest stay as they are."""
    usage = request.usage if request.HasField("usage") else None
    return MessagePatch(
        content=request.content if request.HasField("content") else None,
        status=request.status if request.HasField("status") else None,
        tool_calls_json=_clearable(request, "tool_calls_json"),
        payload_json=_clearable(request, "payload_json"),
        input_tokens=None if usage is None else usage.input_tokens,
        output_tokens=None if usage is None else usage.output_tokens,
        model=None if usage is None else usage.model,
    )


def _clearable(request: Message, field: str) -> str | Unset | None:
    """An optional string field: UNSET when absent, None (clear it) when "", else its value."""
    if not request.HasField(field):
        return UNSET
    value: str = getattr(request, field)
    return value or None
