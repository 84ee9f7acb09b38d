"""What the app holds (`ConversationsState`, made in the lifespan) and what a REST
handler needs, as Annotated aliases (chat_common.deps: one state pattern and one bearer
token for all services)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from chat_common.deps import AppState, bearer_user
from chat_common.tokens import CachingVerifier, VerifiedToken
from fastapi import Depends

from conversations import db
from conversations.settings import Settings
from conversations.store import Connection


@dataclass(frozen=True, slots=True)
class ConversationsState:
    settings: Settings
    pool: db.Pool
    verifier: CachingVerifier
    grpc_port: int  # where the gRPC server listens (GRPC_PORT=0: the kernel's choice)


STATE: AppState[ConversationsState] = AppState("conversations")
StateDep = Annotated[ConversationsState, Depends(STATE)]
TokenDep = Annotated[VerifiedToken, Depends(bearer_user(STATE))]


async def session(state: StateDep) -> AsyncIterator[Connection]:
    """A pooled connection (autocommit: each store call is its own short transaction)."""
    async with db.connection(state.pool) as connection:
        yield connection


async def current_user(token: TokenDep) -> UUID:
    """The user id of the verified access token; 401 without a valid one."""
    return token.user_id


SessionDep = Annotated[Connection, Depends(session)]
CurrentUser = Annotated[UUID, Depends(current_user)]
