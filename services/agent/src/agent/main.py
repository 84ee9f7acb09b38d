"""The agent's app: the REST send route, ChatKit, health. One gRPC channel and one
model client per process, made in the lifespan; nothing is built at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from chat_common import shutdown
from chat_common.app import build_app
from chat_common.tokens import CachingVerifier
from fastapi import FastAPI

from agent.api.routes import router as messages_router
from agent.background import drain_background
from agent.chatkit.routes import router as chatkit_router
from agent.conversations_client import ConversationsClient
from agent.deps import STATE, AgentState
from agent.model import ModelClient
from agent.service_token import ServiceTokenSource
from agent.settings import Settings, get_settings
from agent.tools.setup import process_tools
from agent.turns import TurnPipeline


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service_token = ServiceTokenSource(
            auth_url=settings.auth_url,
            client_id=settings.agent_client_id,
            client_secret=settings.agent_client_secret.get_secret_value(),
        )
        conversations = ConversationsClient(
            settings.conversations_grpc_target,
            service_token=service_token,
            deadline_seconds=settings.grpc_deadline_seconds,
        )
        model = ModelClient.from_settings(settings)
        stack = AsyncExitStack()  # MCP connections: open while the app runs
        tools = await stack.enter_async_context(process_tools(settings))
        pipeline = TurnPipeline(
            conversations=conversations, model=model, settings=settings, tools=tools
        )
        STATE.put(
            app,
            AgentState(
                settings=settings,
                verifier=CachingVerifier(settings.token_verifier()),
                conversations=conversations,
                model=model,
                pipeline=pipeline,
            ),
        )
        try:
            yield
        finally:
            # Replies still running (a REST turn whose client left goes on in the
            # background) and final writes still landing: up to the shutdown grace.
            await drain_background(shutdown.seconds_left(settings.shutdown_grace_seconds))
            await stack.aclose()
            await model.close()
            await conversations.close()
            await service_token.close()

    app = build_app(
        "agent",
        settings,
        summary="Runs chat turns: history over gRPC, the model through the openai SDK",
        lifespan=lifespan,
        ready=_ready,
    )
    app.include_router(messages_router)
    app.include_router(chatkit_router)
    return app


async def _ready(app: FastAPI) -> None:
    await STATE.of(app).conversations.health_check()
