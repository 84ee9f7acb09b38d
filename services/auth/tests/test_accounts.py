"""Sign-up, login and /me."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import jwt

if TYPE_CHECKING:
    from services.auth.tests.conftest import Account, AuthApi


def fresh_email() -> str:
    return f"Someone.{uuid.uuid4().hex[:8]}@Example.COM"


async def test_register_answers_201_with_the_normalised_email(api: AuthApi) -> None:
    email = fresh_email()
    response = await api.register(f"  {email} ")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == email.lower()
    assert uuid.UUID(body["id"])
    assert set(body) == {"id", "email"}


async def test_register_with_a_taken_email_in_another_case_is_a_conflict(api: AuthApi) -> None:
    email = fresh_email()
    assert (await api.register(email)).status_code == 201
    response = await api.register(email.upper() + " ")
    assert response.status_code == 409
    assert "detail" in response.json()


async def test_register_refuses_a_malformed_email(api: AuthApi) -> None:
    for bad in ["not-an-email", "a@", "@example.com", "a b@example.com", ""]:
        response = await api.register(bad)
        assert response.status_code == 422, bad


async def test_register_refuses_a_password_under_8_chars(api: AuthApi) -> None:
    response = await api.register(fresh_email(), "1234567")
    assert response.status_code == 422


async def test_register_refuses_a_password_over_1024_chars(api: AuthApi) -> None:
    response = await api.register(fresh_email(), "x" * 1025)
    assert response.status_code == 422


async def test_register_refuses_unknown_fields(api: AuthApi) -> None:
    response = await api.client.post(
        "/api/auth/register",
        json={"email": fresh_email(), "password": "long enough", "is_admin": True},
    )
    assert response.status_code == 422


async def test_login_answers_a_bearer_pair(api: AuthApi, account: Account) -> None:
    response = await api.login(f" {account.email.upper()} ", account.password)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert response.headers["cache-control"] == "no-store"


async def test_access_token_carries_kid_typ_and_the_contract_claims(
    api: AuthApi, account: Account
) -> None:
    header = jwt.get_unverified_header(account.access_token)
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "EdDSA"
    assert header["kid"]
    assert set(claims) == {"iss", "aud", "sub", "iat", "exp", "jti"}
    assert claims["sub"] == str(account.id)
    assert claims["iss"] == claims["aud"] == "chatkit-backend"
    assert claims["exp"] - claims["iat"] == 900


async def test_login_with_a_wrong_password_is_401(api: AuthApi, account: Account) -> None:
    response = await api.login(account.email, "wrong password")
    assert response.status_code == 401
    assert response.json() == {"detail": "invalid email or password"}


async def test_login_with_an_unknown_email_answers_like_a_wrong_password(api: AuthApi) -> None:
    response = await api.login(fresh_email(), "whatever password")
    assert response.status_code == 401
    assert response.json() == {"detail": "invalid email or password"}


async def test_me_answers_the_tokens_user(api: AuthApi, account: Account) -> None:
    response = await api.me(account.access_token)
    assert response.status_code == 200
    assert response.json() == {"id": str(account.id), "email": account.email}


async def test_me_without_a_token_is_401_with_a_bearer_challenge(api: AuthApi) -> None:
    response = await api.client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "detail" in response.json()


async def test_verify_answers_the_user_id_in_a_header(api: AuthApi, account: Account) -> None:
    response = await api.verify(account.access_token)
    assert response.status_code == 200
    assert response.headers["x-user-id"] == str(account.id)


async def test_verify_answers_any_method_nginx_may_forward(api: AuthApi, account: Account) -> None:
    headers = {"Authorization": f"Bearer {account.access_token}"}
    for method in ["POST", "PATCH", "DELETE", "HEAD"]:
        response = await api.client.request(method, "/verify", headers=headers)
        assert response.status_code == 200, method


async def test_health_and_readiness(api: AuthApi) -> None:
    assert (await api.client.get("/healthz")).status_code == 200
    assert (await api.client.get("/readyz")).status_code == 200


async def test_request_id_is_echoed(api: AuthApi) -> None:
    response = await api.client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
