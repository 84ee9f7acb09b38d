"""The agent's only door to stored conversations: the conversations service over gRPC.

One channel per process (made in the app's lifespan). Every call carries the
agent's service token and the id of the user it acts for (the conversations
service verifies the one and scopes by the other; the user's own token was
verified when the request came in), the request id, and a deadline. gRPC errors
become domain errors, so a foreign conversation is a NotFound here exactly as it
is over REST.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Final, TypeVar, cast
from uuid import UUID

import grpc
from chat.conversations.v1 import conversations_pb2 as pb
from chat.conversations.v1 import conversations_pb2_grpc as pb_grpc
from chat_common.errors import from_grpc
from chat_common.logs import request_id_var
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agent.service_token import ServiceTokenSource

Resp = TypeVar("Resp")
# Who the agent acts for; the conversations service scopes every call to this user.
ACTING_USER_HEADER: Final = "x-acting-user"

_CHANNEL_OPTIONS = [
    # With a name that resolves to several addresses (a Kubernetes headless Service,
    # `dns:///conversations-grpc:50051`) calls spread over all of them, not one pod.
    ("grpc.lb_policy_name", "round_robin"),
    # A restarted conversations service is found again within ~2 s (the default backoff
    # grows to minutes, during which every call would fail fast).
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_permit_without_calls", 1),
    # The conversations server sends at most 16 MiB (a larger page is refused there, and
    # StartTurn sheds the oldest history to fit): the same bound here. What the agent
    # sends is bounded by the server's receive limit (the largest valid write).
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
]


class ConversationsClient:
    def __init__(
        self, target: str, *, service_token: ServiceTokenSource, deadline_seconds: float = 5.0
    ) -> None:
        self._service_token = service_token
        self._channel = grpc.aio.insecure_channel(target, options=_CHANNEL_OPTIONS)
        self._stub = pb_grpc.ConversationsServiceStub(self._channel)
        self._deadline = deadline_seconds

    async def close(self) -> None:
        await self._channel.close(grace=None)

    async def health_check(self) -> None:
        """Raises unless the conversations service's grpc.health.v1 answers SERVING."""
        stub = health_pb2_grpc.HealthStub(self._channel)
        response = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2.0)
        if response.status != health_pb2.HealthCheckResponse.SERVING:
            raise RuntimeError("the conversations service is not serving")

    async def _call(
        self, rpc: Callable[..., Awaitable[Resp]], request: object, user_id: UUID
    ) -> Resp:
        metadata = (
            ("authorization", f"Bearer {await self._service_token.token()}"),
            (ACTING_USER_HEADER, str(user_id)),
            ("x-request-id", request_id_var.get()),
        )
        try:
            # wait_for_ready: while the backends reconnect, a call waits (within its
            # deadline) instead of failing at once.
            return await rpc(
                request, metadata=metadata, timeout=self._deadline, wait_for_ready=True
            )
        except grpc.aio.AioRpcError as exc:
            # grpc.aio gives (key, value) pairs; its stubs say objects with .key/.value.
            trailers = cast(Sequence[tuple[str, str | bytes]], exc.trailing_metadata() or ())
            raise from_grpc(exc.code(), exc.details(), trailers) from None

    async def create_conversation(
        self,
        user_id: UUID,
        *,
        title: str | None = None,
        id: str | None = None,
        metadata_json: str = "",
    ) -> pb.Conversation:
        request = pb.CreateConversationRequest(title=title, id=id, metadata_json=metadata_json)
        return await self._call(self._stub.CreateConversation, request, user_id)

    async def get_conversation(self, user_id: UUID, conversation_id: str) -> pb.Conversation:
        request = pb.GetConversationRequest(conversation_id=conversation_id)
        return await self._call(self._stub.GetConversation, request, user_id)

    async def list_conversations(
        self, user_id: UUID, *, limit: int = 20, cursor: str = ""
    ) -> pb.ListConversationsResponse:
        request = pb.ListConversationsRequest(limit=limit, cursor=cursor)
        return await self._call(self._stub.ListConversations, request, user_id)

    async def list_threads(
        self, user_id: UUID, *, limit: int, after_id: str = "", oldest_first: bool = False
    ) -> pb.ListConversationsResponse:
        """ChatKit's order: by creation time, after the conversation `after_id`."""
        request = pb.ListConversationsRequest(
            limit=limit, by_created_at=True, after_id=after_id, oldest_first=oldest_first
        )
        return await self._call(self._stub.ListConversations, request, user_id)

    async def update_conversation(
        self,
        user_id: UUID,
        conversation_id: str,
        *,
        title: str | None = None,
        metadata_json: str | None = None,
    ) -> pb.Conversation:
        request = pb.UpdateConversationRequest(
            conversation_id=conversation_id, title=title, metadata_json=metadata_json
        )
        return await self._call(self._stub.UpdateConversation, request, user_id)

    async def delete_conversation(self, user_id: UUID, conversation_id: str) -> None:
        request = pb.DeleteConversationRequest(conversation_id=conversation_id)
        await self._call(self._stub.DeleteConversation, request, user_id)

    async def append_message(self, user_id: UUID, request: pb.AppendMessageRequest) -> pb.Message:
        return await self._call(self._stub.AppendMessage, request, user_id)

    async def start_turn(self, user_id: UUID, request: pb.StartTurnRequest) -> pb.StartTurnResponse:
        return await self._call(self._stub.StartTurn, request, user_id)

    async def start_reply(
        self, user_id: UUID, request: pb.StartReplyRequest
    ) -> pb.StartReplyResponse:
        return await self._call(self._stub.StartReply, request, user_id)

    async def update_message(self, user_id: UUID, request: pb.UpdateMessageRequest) -> pb.Message:
        return await self._call(self._stub.UpdateMessage, request, user_id)

    async def get_message(self, user_id: UUID, conversation_id: str, message_id: str) -> pb.Message:
        request = pb.GetMessageRequest(conversation_id=conversation_id, message_id=message_id)
        return await self._call(self._stub.GetMessage, request, user_id)

    async def delete_message(self, user_id: UUID, conversation_id: str, message_id: str) -> None:
        request = pb.DeleteMessageRequest(conversation_id=conversation_id, message_id=message_id)
        await self._call(self._stub.DeleteMessage, request, user_id)

    async def set_feedback(
        self, user_id: UUID, conversation_id: str, message_ids: list[str], feedback: str
    ) -> None:
        request = pb.SetFeedbackRequest(
            conversation_id=conversation_id, message_ids=message_ids, feedback=feedback
        )
        await self._call(self._stub.SetFeedback, request, user_id)

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
        request = pb.ListMessagesRequest(
            conversation_id=conversation_id,
            limit=limit,
            before=before,
            after=after,
            oldest_first=oldest_first,
        )
        return await self._call(self._stub.ListMessages, request, user_id)

    async def create_attachment(
        self, user_id: UUID, *, name: str, mime_type: str, size: int
    ) -> pb.Attachment:
        request = pb.CreateAttachmentRequest(name=name, mime_type=mime_type, size=size)
        return await self._call(self._stub.CreateAttachment, request, user_id)

    async def get_attachment(
        self, user_id: UUID, attachment_id: str, *, with_content: bool = False
    ) -> pb.Attachment:
        request = pb.GetAttachmentRequest(attachment_id=attachment_id, with_content=with_content)
        return await self._call(self._stub.GetAttachment, request, user_id)

    async def bind_attachment(
        self, user_id: UUID, attachment_id: str, conversation_id: str
    ) -> pb.Attachment:
        request = pb.BindAttachmentRequest(
            attachment_id=attachment_id, conversation_id=conversation_id
        )
        return await self._call(self._stub.BindAttachment, request, user_id)

    async def delete_attachment(self, user_id: UUID, attachment_id: str) -> None:
        request = pb.DeleteAttachmentRequest(attachment_id=attachment_id)
        await self._call(self._stub.DeleteAttachment, request, user_id)
