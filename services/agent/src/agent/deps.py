"""What the app holds (`AgentState`, made in the lifespan in main.py) and what handlers
need, as Annotated aliases (chat_common.deps: one state pattern and one bearer token for
all services)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from chat_common.deps import AppState, bearer_user
from chat_common.tokens import CachingVerifier, VerifiedToken
from fastapi import Depends

from agent.context import RequestContext
from agent.conversations_client import ConversationsClient
from agent.model import ModelClient
from agent.settings import Settings
from agent.turns import TurnPipeline


@dataclass(frozen=True, slots=True)
class AgentState:
    settings: Settings
    verifier: CachingVerifier
    conversations: ConversationsClient
    model: ModelClient
    pipeline: TurnPipeline


STATE: AppState[AgentState] = AppState("agent")
StateDep = Annotated[AgentState, Depends(STATE)]
TokenDep = Annotated[VerifiedToken, Depends(bearer_user(STATE))]


async def current_user(token: TokenDep) -> RequestContext:
    return RequestContext(user_id=token.user_id)


async def pipeline(state: StateDep) -> TurnPipeline:
    return state.pipeline


async def settings(state: StateDep) -> Settings:
    return state.settings


CurrentUser = Annotated[RequestContext, Depends(current_user)]
PipelineDep = Annotated[TurnPipeline, Depends(pipeline)]
SettingsDep = Annotated[Settings, Depends(settings)]
