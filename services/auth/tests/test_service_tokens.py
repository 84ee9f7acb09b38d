"""`POST /internal/token`: client credentials for internal services (RFC 6749 §4.4), and
service tokens and user tokens never passing as each other."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import httpx
import jwt
import pytest
from auth.keys import load_key_ring
from auth.main import own_token_verifier
from auth.settings import Settings
from chat_common.errors import Unauthenticated
from chat_common.tokens import TokenVerifier
from pydantic import SecretStr, ValidationError

if TYPE_CHECKING:
    from services.auth.tests.conftest import Account, AppFactory, AuthApi

SECRET = "an agent secret of at least 32 characters, for tests"
FORM = {"grant_type": "client_credentials"}


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


@pytest.fixture(scope="module")
async def internal(app_factory: AppFactory) -> AsyncIterator[AuthApi]:
    async with app_factory(agent_client_secret=SecretStr(SECRET)) as running:
        yield running


def verifier(api: AuthApi) -> TokenVerifier:
    return own_token_verifier(api.settings, load_key_ring(api.settings))


async def token(api: AuthApi, data: dict[str, str], **kwargs: object) -> httpx.Response:
    return await api.client.post("/internal/token", data=data, **kwargs)  # type: ignore[arg-type]


async def test_the_agent_gets_a_service_token_with_http_basic(internal: AuthApi) -> None:
    response = await token(internal, FORM, headers=basic("agent", SECRET))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["scope"] == "conversations:agent"
    assert body["expires_in"] == 900
    assert response.headers["cache-control"] == "no-store"
    service = await verifier(internal).verify_service(body["access_token"])
    assert service.client_id == "agent"
    assert service.scopes == {"conversations:agent"}
    claims = service.claims
    assert claims["aud"] == "chat-internal" and claims["sub"] == "agent"
    assert claims["iss"] == internal.settings.jwt_issuer
    assert claims["exp"] - claims["iat"] == 900 and claims["jti"]
    assert jwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt"


async def test_the_agent_may_authenticate_with_body_parameters(internal: AuthApi) -> None:
    form = {**FORM, "client_id": "agent", "client_secret": SECRET}
    assert (await token(internal, form)).status_code == 200


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [("agent", SECRET + "x"), ("agent", SECRET[:-1]), ("agent", ""), ("conversations", SECRET)],
)
async def test_a_bad_client_is_401(internal: AuthApi, client_id: str, secret: str) -> None:
    response = await token(internal, FORM, headers=basic(client_id, secret))
    assert response.status_code == 401
    assert response.json() == {"detail": "invalid client"}
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_no_credentials_at_all_is_401(internal: AuthApi) -> None:
    assert (await token(internal, FORM)).status_code == 401


async def test_another_grant_type_is_400(internal: AuthApi) -> None:
    form = {"grant_type": "password", "username": "a", "password": "b"}
    response = await token(internal, form, headers=basic("agent", SECRET))
    assert response.status_code == 400
    assert response.json() == {"detail": "unsupported grant type"}


async def test_a_json_body_or_a_nul_is_refused(internal: AuthApi) -> None:
    as_json = await internal.client.post(
        "/internal/token", json=FORM, headers=basic("agent", SECRET)
    )
    assert as_json.status_code == 400
    nul = await token(internal, {**FORM, "scope": "a\x00b"}, headers=basic("agent", SECRET))
    assert nul.status_code == 422


async def test_without_a_configured_secret_every_client_is_refused(api: AuthApi) -> None:
    assert api.settings.agent_client_secret is None
    assert (await token(api, FORM, headers=basic("agent", SECRET))).status_code == 401
    assert (await token(api, FORM, headers=basic("agent", ""))).status_code == 401


async def test_a_service_token_is_not_a_user_token(internal: AuthApi) -> None:
    response = await token(internal, FORM, headers=basic("agent", SECRET))
    service_token = response.json()["access_token"]
    with pytest.raises(Unauthenticated):
        await verifier(internal).verify(service_token)
    assert (await internal.verify(service_token)).status_code == 401
    assert (await internal.me(service_token)).status_code == 401


async def test_a_user_token_is_not_a_service_token(internal: AuthApi) -> None:
    account: Account = await internal.account()
    with pytest.raises(Unauthenticated):
        await verifier(internal).verify_service(account.access_token)


def test_production_requires_a_long_agent_secret(signing_pem: str) -> None:
    strong = {"environment": "production", "database_url": "postgresql://x"}
    short = "s" * 31
    with pytest.raises(ValidationError, match="AGENT_CLIENT_SECRET") as refused:
        Settings(**strong, jwt_private_keys=signing_pem, agent_client_secret=short)  # type: ignore[arg-type]
    assert short not in str(refused.value.errors()[0]["msg"])
    with pytest.raises(ValidationError, match="AGENT_CLIENT_SECRET"):
        Settings(**strong, jwt_private_keys=signing_pem)  # type: ignore[arg-type]


def test_service_tokens_need_their_own_audience_and_a_short_life() -> None:
    with pytest.raises(ValidationError, match="SERVICE_TOKEN_AUDIENCE"):
        Settings(database_url="postgresql://x", service_token_audience="chatkit-backend")
    with pytest.raises(ValidationError, match="service_token_ttl_seconds"):
        Settings(database_url="postgresql://x", service_token_ttl_seconds=3601)
