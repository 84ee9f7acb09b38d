"""What handlers need, as Annotated dependencies (all `async def`: FastAPI runs plain
`def` dependencies in a worker thread, a cost on every request). The process-wide objects are
made once in the app's lifespan (main.py) and kept on `app.state.agent`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from chat_common.tokens import CachingVerifier, bearer_token
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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


async def agent_state(request: Request) -> AgentState:
    state: AgentState = request.app.state.agent
    return state


StateDep = Annotated[AgentState, Depends(agent_state)]

# auto_error=False: a missing token is our 401 `{"detail": ...}`, not FastAPI's own answer.
_bearer = HTTPBearer(auto_error=False, description="An access token from the auth service")


async def current_user(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> RequestContext:
    token = bearer_token(f"Bearer {credentials.credentials}" if credentials else None)
    verified = await state.verifier.verify(token)
    return RequestContext(user_id=verified.user_id)


CurrentUser = Annotated[RequestContext, Depends(current_user)]


async def pipeline(state: StateDep) -> TurnPipeline:
    return state.pipeline


async def settings(state: StateDep) -> Settings:
    return state.settings


PipelineDep = Annotated[TurnPipeline, Depends(pipeline)]
SettingsDep = Annotated[Settings, Depends(settings)]
