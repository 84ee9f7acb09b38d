"""What the app holds (`AuthState`, made in the lifespan) and what a handler needs, as
Annotated aliases (chat_common.deps: one state pattern and one bearer token for all)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from chat_common.client_address import TrustedProxies
from chat_common.deps import AppState, bearer_user
from chat_common.errors import Unauthenticated
from chat_common.tokens import TokenVerifier, VerifiedToken
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncEngine

from auth import store
from auth.account_deletion import DeletedUsers
from auth.accounts import Accounts
from auth.clients import ServiceClients, ServiceTokenIssuer
from auth.db import Sessions
from auth.deletion_courier import DeletionCourier
from auth.keys import KeyRing
from auth.models import User
from auth.settings import Settings
from auth.tokens import Tokens


@dataclass(frozen=True, slots=True)
class AuthState:
    settings: Settings
    keys: KeyRing
    verifier: TokenVerifier  # local keys, no database: verifying costs no round trip
    engine: AsyncEngine
    db: Sessions
    accounts: Accounts
    tokens: Tokens
    clients: ServiceClients
    service_tokens: ServiceTokenIssuer
    proxies: TrustedProxies
    deleted_users: DeletedUsers  # what `/verify` refuses at once
    courier: DeletionCourier  # tells conversations to delete a deleted account's data


STATE: AppState[AuthState] = AppState("auth")
StateDep = Annotated[AuthState, Depends(STATE)]
TokenDep = Annotated[VerifiedToken, Depends(bearer_user(STATE))]


async def current_user(token: TokenDep, state: StateDep) -> User:
    async with state.db() as s:
        user = await store.get_user(s, user_id=token.user_id)
    if user is None:
        raise Unauthenticated("unknown user")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
