"""The FastAPI dependencies every service shares: its state, and the request's user.

- State: what one process holds (settings, pools, clients, the token verifier) is one
  frozen dataclass per service, made in the app's lifespan and kept on
  `app.state.<service>`; `AppState` puts it there and is the one dependency that reads it
  (`StateDep = Annotated[AuthState, Depends(STATE)]`).
- The user: `bearer_user(STATE)` is the dependency that verifies the request's
  `Authorization: Bearer` token with the state's verifier. OpenAPI documents it as HTTP
  bearer; a missing or bad token is our 401 (`{"detail": ...}` and
  `WWW-Authenticate: Bearer`), never FastAPI's own answer.

Every dependency here is `async def`: FastAPI runs a plain `def` one in a worker thread,
a cost on every request.
"""

# No `from __future__ import annotations`: FastAPI reads the annotations of the
# dependency made in bearer_user() at runtime, and they name a local of that function.

from collections.abc import Awaitable, Callable
from typing import Annotated, Generic, Protocol, TypeVar, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.applications import Starlette

from chat_common.errors import Unauthenticated
from chat_common.logs import user_id_var
from chat_common.tokens import VerifiedToken

T = TypeVar("T")


class AppState(Generic[T]):
    """Where a service keeps what its process holds: `app.state.<name>`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def put(self, app: Starlette, value: T) -> None:
        setattr(app.state, self.name, value)

    def of(self, app: Starlette) -> T:
        return cast(T, getattr(app.state, self.name))

    async def __call__(self, request: Request) -> T:
        return self.of(request.app)


class UserVerifier(Protocol):
    async def verify(self, token: str) -> VerifiedToken: ...


class HoldsVerifier(Protocol):
    @property
    def verifier(self) -> UserVerifier: ...


# auto_error=False: without a bearer token it gives None, and we answer our own 401.
_bearer = HTTPBearer(auto_error=False, description="An access token from the auth service")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def bearer_user(
    state: Callable[..., Awaitable[HoldsVerifier]],
) -> Callable[..., Awaitable[VerifiedToken]]:
    """A dependency: the request's access token, verified by `state`'s verifier."""

    async def verified_token(
        holder: Annotated[HoldsVerifier, Depends(state)], credentials: Credentials
    ) -> VerifiedToken:
        if credentials is None:  # no header, another scheme, or an empty token
            raise Unauthenticated("missing bearer token")
        token = await holder.verifier.verify(credentials.credentials)
        user_id_var.set(str(token.user_id))  # the request's own task: its log lines name the user
        return token

    return verified_token
