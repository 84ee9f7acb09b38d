"""Text Postgres cannot store (NUL) or UTF-8 cannot encode (lone surrogates) is a 422
on every auth input, never a 500, and changes nothing."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from services.auth.tests.conftest import Account, AuthApi

# Raw JSON, so that the escapes reach the server as a client would send them.
NUL, SURROGATE = "\\u0000", "\\ud800"


async def post_raw(api: AuthApi, path: str, fields: dict[str, str], bad: str) -> int:
    """POSTs `fields` as JSON with every "@BAD@" replaced by the raw escape `bad`."""
    body = json.dumps(fields).replace("@BAD@", bad)
    response = await api.client.post(
        path, content=body.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code != 500, response.text
    return response.status_code


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
async def test_login_refuses_it_in_the_email_and_the_password(api: AuthApi, bad: str) -> None:
    fields = {"email": "a@BAD@@example.com", "password": "long enough"}
    assert await post_raw(api, "/api/auth/login", fields, bad) == 422
    fields = {"email": "a@example.com", "password": "long @BAD@ enough"}
    assert await post_raw(api, "/api/auth/login", fields, bad) == 422


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
async def test_register_refuses_it_and_creates_nothing(api: AuthApi, bad: str) -> None:
    email = f"nul-{uuid.uuid4().hex[:8]}@example.com"
    fields = {"email": email, "password": "long @BAD@ enough"}
    assert await post_raw(api, "/api/auth/register", fields, bad) == 422
    fields = {"email": "x@BAD@" + email, "password": "long enough"}
    assert await post_raw(api, "/api/auth/register", fields, bad) == 422
    assert (await api.register(email)).status_code == 201  # the address was never taken


@pytest.mark.parametrize("path", ["/api/auth/refresh", "/api/auth/logout"])
@pytest.mark.parametrize("bad", [NUL, SURROGATE])
async def test_refresh_and_logout_refuse_it(
    api: AuthApi, account: Account, path: str, bad: str
) -> None:
    fields = {"refresh_token": account.refresh_token + "@BAD@"}
    assert await post_raw(api, path, fields, bad) == 422
    assert (await api.refresh(account.refresh_token)).status_code == 200  # still alive
