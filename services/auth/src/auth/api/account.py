"""The account's own lifecycle: change the password, log out everywhere, delete it.

Each needs the user's access token; changing the password and deleting the account
also need the password itself, checked as a login is (throttled alike, a wrong one is
401 and counts as a failed login).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from auth.deps import CurrentUser, StateDep
from auth.models import AccountDeleteIn, PasswordChangeIn

router = APIRouter()

_CHECKED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated, or a wrong password"},
    429: {"description": "Too many failed logins (see Retry-After)"},
    503: {"description": "Too many password hashes queued (see Retry-After)"},
}


@router.post("/api/auth/password", status_code=204, response_class=Response, responses=_CHECKED)
async def change_password(
    body: PasswordChangeIn, user: CurrentUser, state: StateDep, request: Request
) -> Response:
    """Every session (refresh family) of the account ends with the old password."""
    await state.accounts.change_password(
        user,
        current_password=body.current_password,
        new_password=body.new_password,
        address=state.proxies.of_request(request),
    )
    return Response(status_code=204)


@router.post(
    "/api/auth/logout-all",
    status_code=204,
    response_class=Response,
    responses={401: {"description": "Not authenticated"}},
)
async def logout_all(user: CurrentUser, state: StateDep) -> Response:
    await state.accounts.logout_everywhere(user.id)
    return Response(status_code=204)


@router.delete("/api/auth/me", status_code=204, response_class=Response, responses=_CHECKED)
async def delete_account(
    body: AccountDeleteIn, user: CurrentUser, state: StateDep, request: Request
) -> Response:
    """The account is gone and its tokens refused at once; its data is deleted by the
    conversations service, told by the courier (even if it is down right now)."""
    await state.accounts.delete(
        user, password=body.password, address=state.proxies.of_request(request)
    )
    state.deleted_users.add(user.id)
    state.courier.wake()
    return Response(status_code=204)
