"""With ENVIRONMENT=production the agent serves no /docs or /redoc (its schema stays at
/openapi.json on its own port), as auth and conversations do."""

from __future__ import annotations

import httpx
import pytest
from agent.main import create_app
from agent.settings import Settings
from pydantic import SecretStr


def agent_settings(environment: str) -> Settings:
    return Settings(
        environment=environment,
        agent_client_secret=SecretStr("s" * 32),
        openai_base_url="http://127.0.0.1:9/v1",  # never called: no lifespan runs here
    )


async def status_of(environment: str, path: str) -> int:
    transport = httpx.ASGITransport(app=create_app(agent_settings(environment)))
    async with httpx.AsyncClient(transport=transport, base_url="http://agent") as http:
        return (await http.get(path)).status_code


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_production_serves_no_docs(path: str) -> None:
    assert await status_of("production", path) == 404
    assert await status_of("development", path) == 200


async def test_production_keeps_the_schema() -> None:
    assert await status_of("production", "/openapi.json") == 200
