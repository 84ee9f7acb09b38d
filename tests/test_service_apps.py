"""Auth, conversations and the agent are assembled the same way (chat_common.app): the
shared layers wrap each app in one order, so a request id or a metric means the same in
every service. Built only, never started: no database or model is reached."""

from __future__ import annotations

import agent.main
import auth.main
import conversations.main
import httpx
from agent.settings import Settings as AgentSettings
from auth.api.verify import VerifyRoute
from auth.keys import new_ed25519_pem
from auth.settings import Settings as AuthSettings
from chat_common.errors import UnhandledErrorMiddleware
from chat_common.logs import RequestIdMiddleware
from chat_common.metrics import MetricsMiddleware
from conversations.settings import Settings as ConversationsSettings
from fastapi import FastAPI
from pydantic import SecretStr

DATABASE_URL = "postgresql://nobody@127.0.0.1:9/never"  # never connected to
JWKS = {"auth_jwks_url": None, "auth_jwks": '{"keys": []}'}
SHARED_LAYERS = [  # outermost first
    RequestIdMiddleware,
    UnhandledErrorMiddleware,
    MetricsMiddleware,
]


def layers(app: FastAPI) -> list[type]:
    return [m.cls for m in app.user_middleware]  # type: ignore[misc]


def built_apps() -> dict[str, FastAPI]:
    return {
        "auth": auth.main.create_app(
            AuthSettings(
                database_url=DATABASE_URL,
                jwt_private_keys=SecretStr(new_ed25519_pem().decode()),
            )
        ),
        "conversations": conversations.main.create_app(
            ConversationsSettings(database_url=DATABASE_URL, **JWKS)  # type: ignore[arg-type]
        ),
        "agent": agent.main.create_app(
            AgentSettings(agent_client_secret=SecretStr("s" * 32), **JWKS)  # type: ignore[arg-type]
        ),
    }


def test_every_service_has_the_shared_layers_in_one_order() -> None:
    apps = built_apps()

    assert layers(apps["auth"]) == [VerifyRoute, *SHARED_LAYERS]  # `/verify` answers first
    assert layers(apps["conversations"]) == SHARED_LAYERS
    assert layers(apps["agent"]) == SHARED_LAYERS


async def test_every_service_answers_health_and_errors_alike() -> None:
    for name, app in built_apps().items():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
            health = await http.get("/healthz")
            missing = await http.get("/no-such-route", headers={"X-Request-ID": "abc-123"})

        assert health.json() == {"status": "ok"}, name
        assert missing.status_code == 404, name
        assert missing.json() == {"detail": "Not Found"}, name
        assert missing.headers["X-Request-ID"] == "abc-123", name
