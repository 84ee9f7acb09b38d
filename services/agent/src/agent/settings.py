"""The agent's settings (env, 12-factor), read once behind `get_settings()`."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from chat_common.settings import TokenSettings
from pydantic import Field, SecretStr, field_validator, model_validator

from agent.tools.client import ClientTools
from agent.tools.mcp_config import McpServers

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
    # Models a ChatKit composer may pick (inference_options.model), comma-separated; empty:
    # only OPENAI_MODEL. Anything else is refused with an error event.
    model_allowlist: str = ""
    # Ask reasoning models (Responses API) for a reasoning summary, shown while they think.
    openai_reasoning_summary: bool = False
    # Let the model write a new thread's title (one short extra call); off: the first words.
    title_from_model: bool = False
    # The SDK's HTTP transport: aiohttp (leaner per request) or its default httpx2.
    openai_http_transport: Literal["aiohttp", "httpx"] = "aiohttp"
    # Offer the built-in tools (tools.py) to the model; some local servers reject tools.
    tools_enabled: bool = True
    max_tool_rounds: int = Field(3, ge=0, le=10)
    # Integrators' tools: comma-separated modules, each with register_tools(tools) (docs/tools.md).
    tool_modules: str = ""
    # The deadline of every tool call (built-in, module or MCP): past it the model reads a timeout.
    tool_timeout_seconds: float = Field(30.0, gt=0)
    # MCP servers as JSON {"name": {"command": ...} | {"url": ...}} (agent/tools/mcp_config.py).
    mcp_servers: McpServers = Field(default_factory=dict)
    # How long startup waits for the MCP servers' first connection (later ones retry in the back).
    mcp_connect_seconds: float = Field(10.0, ge=0)
    # Tools the ChatKit client runs, as JSON {"name": {"description", "parameters"}}
    # (agent/tools/client.py).
    client_tools: ClientTools = Field(default_factory=dict)

    # The gateway's URL as browsers reach it (https://chat.example.com), for attachments'
    # upload and preview URLs; empty: the scheme and Host of each ChatKit request.
    public_url: str = ""
    # Files a ChatKit message may carry (sizes and types: conversations' settings).
    attachments_per_message: int = Field(10, ge=0, le=100)

    system_prompt: str = "You are a helpful assistant."
    history_limit: int = Field(50, ge=1, le=1000)
    # ...and at most this many characters of them (the oldest go first; ~4 chars a token).
    history_max_chars: int = Field(200_000, ge=1)
    message_max_chars: int = Field(10_000, ge=1)
    # How often the growing reply is written to the store (batched, never per token).
    content_flush_seconds: float = Field(0.5, ge=0)
    # A reply with nothing new to write still renews its lease this often, so the sweeper
    # never cuts a live one (at most a third of conversations' REPLY_LEASE_SECONDS).
    reply_heartbeat_seconds: float = Field(5.0, gt=0)
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

    def allowed_models(self) -> frozenset[str]:
        listed = (name.strip() for name in self.model_allowlist.split(","))
        return frozenset({self.openai_model, *(name for name in listed if name)})

    def tool_module_names(self) -> list[str]:
        return [name.strip() for name in self.tool_modules.split(",") if name.strip()]

    def model_api_key(self) -> str:
        # Self-hosted servers (Ollama, vLLM, the offline model) ignore the key; the SDK wants one.
        return self.openai_api_key.get_secret_value() if self.openai_api_key else "unused"


@lru_cache
def get_settings() -> Settings:
    return Settings()
