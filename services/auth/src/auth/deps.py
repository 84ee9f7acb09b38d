"""What a handler needs, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from chat_common.errors import Unauthenticated
from chat_common.tokens import VerifiedToken, bearer_token
from fastapi import Depends, Request

from auth import store
from auth.models import User
from auth.state import AuthState


async def get_state(request: Request) -> AuthState:
    # async: a plain def dependency would run in a worker thread on every request.
    state: AuthState = request.app.state.auth
    return state


StateDep = Annotated[AuthState, Depends(get_state)]


async def verified_token(request: Request, state: StateDep) -> VerifiedToken:
    """The request's access token, verified locally (keys in memory, no database)."""
    return await state.verifier.verify(bearer_token(request.headers.get("authorization")))


TokenDep = Annotated[VerifiedToken, Depends(verified_token)]


async def current_user(token: TokenDep, state: StateDep) -> User:
    async with state.db() as s:
        user = await store.get_user(s, user_id=token.user_id)
    if user is None:
        raise Unauthenticated("unknown user")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
