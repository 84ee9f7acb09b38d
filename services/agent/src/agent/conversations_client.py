"""The agent's only door to stored conversations: the conversations service over gRPC.

One channel per process (made in the app's lifespan). Every call carries the
end user's access token (the conversations service verifies and scopes by it),
the request id, and a deadline. gRPC errors become domain errors, so a foreign
conversation is a NotFound here exactly as it is over REST.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from chat.conversations.v1 import conversations_pb2 as pb
from chat.conversations.v1 import conversations_pb2_grpc as pb_grpc
from chat_common.errors import from_grpc
from chat_common.logs import request_id_var
from grpc_health.v1 import health_pb2, health_pb2_grpc

Resp = TypeVar("Resp")

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
    ("grpc.max_receive_message_length", 32 * 1024 * 1024),
]


class ConversationsClient:
    def __init__(self, target: str, *, deadline_seconds: float = 5.0) -> None:
        self._channel = grpc.aio.insecure_channel(target, options=_CHANNEL_OPTIONS)
        self._stub = pb_grpc.ConversationsServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._deadline = deadline_seconds

    async def close(self) -> None:
        await self._channel.close(grace=None)

    async def health_check(self) -> None:
        """Raises unless the conversations service's grpc.health.v1 answers SERVING."""
        stub = health_pb2_grpc.HealthStub(self._channel)
        response = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2.0)
        if response.status != health_pb2.HealthCheckResponse.SERVING:
            raise RuntimeError("the conversations service is not serving")

    async def _call(self, rpc: Callable[..., Awaitable[Resp]], request: object, token: str) -> Resp:
        metadata = (("authorization", f"Bearer {token}"), ("x-request-id", request_id_var.get()))
        try:
            # wait_for_ready: while the backends reconnect, a call waits (within its
            # deadline) instead of failing at once.
            return await rpc(
                request, metadata=metadata, timeout=self._deadline, wait_for_ready=True
            )
        except grpc.aio.AioRpcError as exc:
            raise from_grpc(exc.code(), exc.details()) from None

    async def create_conversation(
        self,
        token: str,
        *,
        title: str | None = None,
        id: str | None = None,
        metadata_json: str = "",
    ) -> pb.Conversation:
        request = pb.CreateConversationRequest(title=title, id=id, metadata_json=metadata_json)
        return await self._call(self._stub.CreateConversation, request, token)

    async def get_conversation(self, token: str, conversation_id: str) -> pb.Conversation:
        request = pb.GetConversationRequest(conversation_id=conversation_id)
        return await self._call(self._stub.GetConversation, request, token)

    async def list_conversations(
        self, token: str, *, limit: int = 20, cursor: str = ""
    ) -> pb.ListConversationsResponse:
        request = pb.ListConversationsRequest(limit=limit, cursor=cursor)
        return await self._call(self._stub.ListConversations, request, token)

    async def update_conversation(
        self,
        token: str,
        conversation_id: str,
        *,
        title: str | None = None,
        metadata_json: str | None = None,
    ) -> pb.Conversation:
        request = pb.UpdateConversationRequest(
            conversation_id=conversation_id, title=title, metadata_json=metadata_json
        )
        return await self._call(self._stub.UpdateConversation, request, token)

    async def delete_conversation(self, token: str, conversation_id: str) -> None:
        request = pb.DeleteConversationRequest(conversation_id=conversation_id)
        await self._call(self._stub.DeleteConversation, request, token)

    async def append_message(self, token: str, request: pb.AppendMessageRequest) -> pb.Message:
        return await self._call(self._stub.AppendMessage, request, token)

    async def start_turn(self, token: str, request: pb.StartTurnRequest) -> pb.StartTurnResponse:
        return await self._call(self._stub.StartTurn, request, token)

    async def update_message(self, token: str, request: pb.UpdateMessageRequest) -> pb.Message:
        return await self._call(self._stub.UpdateMessage, request, token)

    async def get_message(self, token: str, conversation_id: str, message_id: str) -> pb.Message:
        request = pb.GetMessageRequest(conversation_id=conversation_id, message_id=message_id)
        return await self._call(self._stub.GetMessage, request, token)

    async def delete_message(self, token: str, conversation_id: str, message_id: str) -> None:
        request = pb.DeleteMessageRequest(conversation_id=conversation_id, message_id=message_id)
        await self._call(self._stub.DeleteMessage, request, token)

    async def list_messages(
        self,
        token: str,
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
        return await self._call(self._stub.ListMessages, request, token)
