"""The agent's model settings: no key means the offline model, except in production."""

from __future__ import annotations

import pytest
from agent.settings import OFFLINE_MODEL_BASE_URL, Settings
from pydantic import ValidationError

TOKENS = {
    "auth_jwks_url": "http://127.0.0.1:8001/.well-known/jwks.json",
    "agent_client_secret": "s" * 32,
}


@pytest.fixture(autouse=True)
def no_model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ENVIRONMENT", "AGENT_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)


def test_without_a_key_development_talks_to_the_offline_model() -> None:
    settings = Settings(**TOKENS, openai_api_key="")  # type: ignore[arg-type]

    assert settings.openai_base_url == OFFLINE_MODEL_BASE_URL


def test_without_a_key_or_a_base_url_production_refuses_to_start() -> None:
    with pytest.raises(ValidationError, match="OPENAI_API_KEY"):
        Settings(**TOKENS, environment="production")  # type: ignore[arg-type]


def test_production_may_use_a_self_hosted_server_without_a_key() -> None:
    settings = Settings(
        **TOKENS,  # type: ignore[arg-type]
        environment="production",
        openai_base_url="http://ollama:11434/v1",
    )

    assert settings.model_api_key() == "unused"


def test_the_agent_cannot_start_without_its_client_secret() -> None:
    with pytest.raises(ValidationError, match="agent_client_secret"):
        Settings(auth_jwks_url=TOKENS["auth_jwks_url"])


def test_production_refuses_a_short_client_secret() -> None:
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(
            **{**TOKENS, "agent_client_secret": "short"},  # type: ignore[arg-type]
            environment="production",
            openai_base_url="http://ollama:11434/v1",
        )
