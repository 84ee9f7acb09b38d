"""The agent's settings (env, 12-factor), read once behind `get_settings()`."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from chat_common.settings import TokenSettings
from pydantic import Field, SecretStr, field_validator, model_validator

OFFLINE_MODEL_BASE_URL = "http://127.0.0.1:8090/v1"


class Settings(TokenSettings):
    port: int = 8003
    # Replies in flight get this long to finish on SIGTERM (Compose and Kubernetes give 60 s).
    shutdown_grace_seconds: float = Field(50.0, ge=0)

    conversations_grpc_target: str = "127.0.0.1:50051"
    grpc_deadline_seconds: float = Field(5.0, gt=0)
    # The agent's own identity towards conversations: auth's client-credentials grant.
    auth_url: str = "http://127.0.0.1:8001"
    agent_client_id: str = "agent"
    agent_client_secret: SecretStr

    # No key in development means the offline model; production must say what it talks to.
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_api_style: Literal["chat_completions", "responses"] = "chat_completions"
    # Per-read timeout of the model stream (the SDK's default is 10 minutes).
    openai_timeout_seconds: float = Field(60.0, gt=0)
    # Retries on 429/5xx/connection errors; the SDK only retries before the stream starts.
    openai_max_retries: int = Field(2, ge=0, le=10)
    openai_max_output_tokens: int = Field(2048, ge=1)
    # The SDK's HTTP transport: aiohttp (leaner per request) or its default httpx2.
    openai_http_transport: Literal["aiohttp", "httpx"] = "aiohttp"
    # Offer the built-in tools (tools.py) to the model; some local servers reject tools.
    tools_enabled: bool = True
    max_tool_rounds: int = Field(3, ge=0, le=10)

    system_prompt: str = "You are a helpful assistant."
    history_limit: int = Field(50, ge=1, le=1000)
    # ...and at most this many characters of them (the oldest go first; ~4 chars a token).
    history_max_chars: int = Field(200_000, ge=1)
    message_max_chars: int = Field(10_000, ge=1)
    # How often the growing reply is written to the store (batched, never per token).
    content_flush_seconds: float = Field(0.5, ge=0)
    # A reply with nothing new to write is still marked alive this often, so the stale-reply
    # sweeper never cuts a live one (keep it well under conversations' STALE_REPLY_SECONDS).
    reply_heartbeat_seconds: float = Field(10.0, gt=0)
    # How long an idempotent replay waits for the first request's reply to finish.
    replay_wait_seconds: float = Field(120.0, gt=0)

    @field_validator("openai_api_key", "openai_base_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _strong_client_secret(self) -> Settings:
        if self.environment == "production" and len(self.agent_client_secret) < 32:
            raise ValueError("AGENT_CLIENT_SECRET must be at least 32 characters in production")
        return self

    @model_validator(mode="after")
    def _has_a_model(self) -> Settings:
        if self.openai_api_key is None and not self.openai_base_url:
            if self.environment == "production":
                raise ValueError(
                    "set OPENAI_API_KEY (or OPENAI_BASE_URL for an OpenAI-compatible server)"
                    " in production"
                )
            object.__setattr__(self, "openai_base_url", OFFLINE_MODEL_BASE_URL)
        return self

    def model_api_key(self) -> str:
        # Self-hosted servers (Ollama, vLLM, the offline model) ignore the key; the SDK wants one.
        return self.openai_api_key.get_secret_value() if self.openai_api_key else "unused"


@lru_cache
def get_settings() -> Settings:
    return Settings()
