"""`create_app()`: the REST app, whose lifespan also runs the gRPC server (one process)
and the maintenance tasks (stale reply sweeper, retention purge)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chat_common.app import build_app
from chat_common.metrics import collecting
from chat_common.periodic import in_background
from chat_common.tokens import CachingVerifier
from fastapi import FastAPI

from conversations import db
from conversations.api import attachments as attachments_api
from conversations.api import export as export_api
from conversations.api import replies as replies_api
from conversations.api.routes import router
from conversations.api.search import router as search_router
from conversations.api.usage import router as usage_router
from conversations.deps import STATE, ConversationsState
from conversations.grpc.server import GrpcServer
from conversations.metrics import PoolCollector
from conversations.reply_events import ReplyListener
from conversations.retention import purge_periodically
from conversations.settings import Settings, get_settings
from conversations.sweeper import sweep_stale_replies


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = db.create_pool(settings)
        await pool.open()
        try:
            verifier = CachingVerifier(settings.token_verifier())
            grpc_server = GrpcServer(pool=pool, settings=settings, verifier=verifier)
            state = ConversationsState(settings, pool, verifier, grpc_port=grpc_server.port)
            STATE.put(app, state)
            listener = ReplyListener(settings.libpq_url)
            replies_api.LISTENER.put(app, listener)
            listener.start()
            await grpc_server.start()
            maintenance = in_background(
                {
                    "stale-reply-sweeper": sweep_stale_replies(
                        pool,
                        interval=settings.reply_sweep_seconds,
                        lease_seconds=settings.reply_lease_seconds,
                    ),
                    "retention-purge": purge_periodically(pool, settings),
                }
            )
            try:
                async with maintenance:
                    with collecting(PoolCollector(pool)):
                        yield
            finally:
                await listener.stop()
                await grpc_server.stop()
        finally:
            await pool.close()

    app = build_app(
        "conversations",
        settings,
        summary="Conversations and messages of every user (REST; gRPC on GRPC_PORT)",
        lifespan=lifespan,
        ready=_ready,
    )
    app.include_router(router)
    app.include_router(search_router)
    app.include_router(usage_router)
    app.include_router(export_api.router)
    app.include_router(replies_api.router)
    app.include_router(attachments_api.router)
    return app


async def _ready(app: FastAPI) -> None:
    await db.ping(STATE.of(app).pool)
