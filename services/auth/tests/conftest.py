"""Fixtures for the auth service's tests: a migrated database of their own, signing keys,
and the app served in-process (httpx ASGITransport, lifespan run for real)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from auth.keys import SigningKey, new_ed25519_pem
from auth.main import create_app
from auth.migrate import upgrade
from auth.settings import Settings

# Cheap argon2 where its cost is not what a test is about (production refuses these).
CHEAP_HASHING = {
    "password_hash_time_cost": 1,
    "password_hash_memory_kib": 1024,
    "password_hash_parallelism": 1,
}
PASSWORD = "correct horse battery staple"


def new_pem() -> str:
    return new_ed25519_pem().decode()


@dataclass
class Account:
    id: uuid.UUID
    email: str
    password: str
    access_token: str
    refresh_token: str


def _bearer(token: str) -> dict[bytes, bytes]:
    # Bytes, so that non-ASCII garbage reaches the server as it would from a raw client.
    return {b"Authorization": f"Bearer {token}".encode()}


class AuthApi:
    """The service's routes, spoken over one httpx client."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    async def register(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return await self.client.post(
            "/api/auth/register", json={"email": email, "password": password}
        )

    async def login(
        self, email: str, password: str = PASSWORD, *, address: str | None = None
    ) -> httpx.Response:
        """`address`: the client address the gateway reports (X-Real-IP; the in-process
        peer, 127.0.0.1, is a trusted proxy by default)."""
        headers = {"X-Real-IP": address} if address else None
        return await self.client.post(
            "/api/auth/login", json={"email": email, "password": password}, headers=headers
        )

    async def refresh(self, refresh_token: str) -> httpx.Response:
        return await self.client.post("/api/auth/refresh", json={"refresh_token": refresh_token})

    async def logout(self, refresh_token: str) -> httpx.Response:
        return await self.client.post("/api/auth/logout", json={"refresh_token": refresh_token})

    async def me(self, token: str) -> httpx.Response:
        return await self.client.get("/api/auth/me", headers=_bearer(token))

    async def verify(self, token: str) -> httpx.Response:
        return await self.client.get("/verify", headers=_bearer(token))

    async def change_password(self, token: str, current: str, new: str) -> httpx.Response:
        body = {"current_password": current, "new_password": new}
        return await self.client.post("/api/auth/password", json=body, headers=_bearer(token))

    async def logout_all(self, token: str) -> httpx.Response:
        return await self.client.post("/api/auth/logout-all", headers=_bearer(token))

    async def delete_account(self, token: str, password: str) -> httpx.Response:
        return await self.client.request(
            "DELETE", "/api/auth/me", json={"password": password}, headers=_bearer(token)
        )

    async def account(self, password: str = PASSWORD) -> Account:
        """A fresh registered user, logged in."""
        email = f"user-{uuid.uuid4().hex[:10]}@example.com"
        registered = await self.register(email, password)
        assert registered.status_code == 201, registered.text
        logged_in = await self.login(email, password)
        assert logged_in.status_code == 200, logged_in.text
        pair = logged_in.json()
        return Account(
            id=uuid.UUID(registered.json()["id"]),
            email=email,
            password=password,
            access_token=pair["access_token"],
            refresh_token=pair["refresh_token"],
        )


AppFactory = Callable[..., contextlib.AbstractAsyncContextManager[AuthApi]]


@pytest.fixture(scope="session")
def auth_database_url(make_database: Callable[..., str]) -> str:
    url = make_database("auth_test")
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def signing_pem() -> str:
    return new_pem()


@pytest.fixture(scope="session")
def signing_key(signing_pem: str) -> SigningKey:
    return SigningKey.from_pem(signing_pem.encode(), source="test")


@pytest.fixture(scope="session")
def settings(auth_database_url: str, signing_pem: str) -> Settings:
    return Settings(
        environment="development",
        database_url=auth_database_url,
        jwt_private_keys=signing_pem,  # pydantic makes it a SecretStr
        # Nothing listens there: deletions stay undelivered (test_account_deletion.py
        # delivers them to a fake of its own).
        conversations_grpc_target="127.0.0.1:9",
        **CHEAP_HASHING,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def app_factory(settings: Settings) -> AppFactory:
    """`async with app_factory(**setting_overrides) as api:` one more app, lifespan and all."""

    @contextlib.asynccontextmanager
    async def running(**overrides: Any) -> AsyncIterator[AuthApi]:
        app_settings = settings.model_copy(update=overrides)
        app = create_app(app_settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://auth.test"
            ) as client,
        ):
            yield AuthApi(client, app_settings)

    return running


@pytest.fixture(scope="session")
async def api(app_factory: AppFactory) -> AsyncIterator[AuthApi]:
    """The app with the default settings (shared by the session: use fresh accounts)."""
    async with app_factory() as running:
        yield running


@pytest.fixture
async def account(api: AuthApi) -> Account:
    return await api.account()
