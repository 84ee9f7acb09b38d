"""What a REST handler needs, as Annotated dependencies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from chat_common.errors import Unauthenticated
from chat_common.tokens import CachingVerifier
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from conversations import db
from conversations.settings import Settings
from conversations.store import Connection


async def settings(request: Request) -> Settings:
    # async: a plain def dependency would run in a worker thread on every request.
    value: Settings = request.app.state.settings
    return value


async def session(request: Request) -> AsyncIterator[Connection]:
    """A pooled connection (autocommit: each store call is its own short transaction)."""
    async with db.connection(request.app.state.pool) as connection:
        yield connection


_bearer = HTTPBearer(auto_error=False, description="An access token from the auth service")


async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> UUID:
    """The user id of the verified access token; 401 without a valid one."""
    verifier: CachingVerifier = request.app.state.verifier
    if credentials is None:
        raise Unauthenticated("missing bearer token")
    return (await verifier.verify(credentials.credentials)).user_id


SettingsDep = Annotated[Settings, Depends(settings)]
SessionDep = Annotated[Connection, Depends(session)]
CurrentUser = Annotated[UUID, Depends(current_user)]
