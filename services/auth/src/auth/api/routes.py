"""Thin handlers: parse, call accounts/tokens, shape the answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from auth.deps import CurrentUser, StateDep
from auth.metrics import counting_login, counting_refresh
from auth.models import LoginIn, RefreshIn, RegisterIn, TokenPair, UserPublic

router = APIRouter()

# RFC 6749 §5.1: responses carrying tokens must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
JWKS_MAX_AGE_SECONDS = 300

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated"},
    429: {"description": "Too many failed logins (see Retry-After)"},
}
_BUSY: dict[int | str, dict[str, Any]] = {
    503: {"description": "Too many password hashes queued (see Retry-After)"}
}


@router.post(
    "/api/auth/register",
    status_code=201,
    responses={409: {"description": "Email already registered"}, **_BUSY},
)
async def register(body: RegisterIn, state: StateDep) -> UserPublic:
    return await state.accounts.register(email=body.email, password=body.password)


@router.post("/api/auth/login", responses={**_ERRORS, **_BUSY})
async def login(body: LoginIn, state: StateDep, request: Request, response: Response) -> TokenPair:
    with counting_login():
        user_id = await state.accounts.authenticate(
            email=body.email, password=body.password, address=state.proxies.of_request(request)
        )
    response.headers.update(NO_STORE)
    return await state.tokens.start_session(user_id)


@router.post("/api/auth/refresh", responses=_ERRORS)
async def refresh(body: RefreshIn, state: StateDep, response: Response) -> TokenPair:
    response.headers.update(NO_STORE)
    with counting_refresh():
        return await state.tokens.refresh(body.refresh_token)


@router.post("/api/auth/logout", status_code=204, response_class=Response)
async def logout(body: RefreshIn, state: StateDep) -> Response:
    await state.tokens.logout(body.refresh_token)
    return Response(status_code=204)


@router.get("/api/auth/me", responses=_ERRORS)
async def me(user: CurrentUser) -> UserPublic:
    return UserPublic(id=user.id, email=user.email)


@router.get("/.well-known/jwks.json")
async def jwks(state: StateDep) -> JSONResponse:
    return JSONResponse(
        state.keys.jwks(),
        headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE_SECONDS}"},
    )


# `/verify` (the gateway's auth_request) is not a route: auth.api.verify.VerifyRoute answers
# it in front of FastAPI, as it runs once per API request.
