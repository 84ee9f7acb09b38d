"""The gRPC server: ConversationsService, the standard health service and (except in
production) reflection, in the same process (and event loop) as the REST app."""

from __future__ import annotations

import logging
from typing import Final

import grpc
from chat.conversations.v1 import conversations_pb2 as pb
from chat.conversations.v1 import conversations_pb2_grpc as pb_grpc
from chat_common import bound_ports, shutdown
from chat_common.tokens import CachingVerifier
from grpc_health.v1 import health as grpc_health
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from conversations.db import Pool
from conversations.grpc.interceptors import interceptors
from conversations.grpc.limits import MAX_SEND_BYTES, max_receive_bytes
from conversations.grpc.servicer import ConversationsServicer
from conversations.settings import Settings

log = logging.getLogger(__name__)

SERVICE_NAME: Final = pb.DESCRIPTOR.services_by_name["ConversationsService"].full_name


def _options(settings: Settings) -> list[tuple[str, int]]:
    return [
        # Fail loudly when the port is taken instead of silently sharing it (Linux default).
        ("grpc.so_reuseport", 0),
        # Deliberate bounds, see grpc/limits.py: the largest valid request, and responses
        # the servicer already keeps under MAX_SEND_BYTES with a clear error.
        (
            "grpc.max_receive_message_length",
            max_receive_bytes(settings.message_payload_max_bytes),
        ),
        ("grpc.max_send_message_length", MAX_SEND_BYTES),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ]


class GrpcServer:
    def __init__(self, *, pool: Pool, settings: Settings, verifier: CachingVerifier):
        self._settings = settings
        self.server = grpc.aio.server(
            interceptors=interceptors(verifier), options=_options(settings)
        )
        pb_grpc.add_ConversationsServiceServicer_to_server(
            ConversationsServicer(pool, settings), self.server
        )
        self.health = grpc_health.aio.HealthServicer()  # type: ignore[attr-defined]  # stubs lag
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        # Reflection lists every method to anyone who can reach the port: a development aid.
        if settings.environment != "production":
            reflection.enable_server_reflection(
                (
                    SERVICE_NAME,
                    health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                    reflection.SERVICE_NAME,
                ),
                self.server,
            )
        # GRPC_PORT=0: the kernel's choice, reported like the HTTP port (bound_ports).
        self.port = self.server.add_insecure_port(f"{settings.host}:{settings.grpc_port}")
        self.address = f"{settings.host}:{self.port}"
        bound_ports.report("grpc", self.port)

    async def start(self) -> None:
        await self.server.start()
        for service in ("", SERVICE_NAME):
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
        log.info("gRPC listening on %s", self.address)

    async def stop(self) -> None:
        """Reports NOT_SERVING, then lets in-flight calls finish until the stop deadline
        (the HTTP drain before this one took its share of the same grace period)."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(shutdown.seconds_left(self._settings.shutdown_grace_seconds))
        log.info("gRPC server stopped")
