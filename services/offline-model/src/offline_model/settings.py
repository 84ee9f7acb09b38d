"""Settings from the environment: the services' common ones (HOST, PORT, LOG_LEVEL,
SHUTDOWN_GRACE_SECONDS, ...; chat_common.settings) and `OFFLINE_MODEL_*`.

Read once at start-up by `chat_common.serve` like every service's; nothing here runs per
request, so the server stays the benchmark's "instant model" floor.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from chat_common.settings import ServiceSettings
from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

PREFIX = "OFFLINE_MODEL_"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="", extra="ignore", frozen=True, populate_by_name=True
    )

    port: int = 8090
    # Default pace of every stream; 0 = instant. `[[slow:R]]` overrides it per request.
    tokens_per_second: float = Field(0.0, ge=0, alias=PREFIX + "TOKENS_PER_SECOND")
    # Model ids listed by GET /v1/models (any other id is accepted and echoed too);
    # comma-separated in the environment.
    models: Annotated[tuple[str, ...], NoDecode] = Field(
        ("offline-model",), alias=PREFIX + "MODELS"
    )
    # `retry-after-ms` hint sent with [[fail...]] answers so SDK retries are quick in tests;
    # 0 sends no hint (the SDK then uses its own backoff).
    retry_after_ms: int = Field(10, ge=0, alias=PREFIX + "RETRY_AFTER_MS")

    @field_validator("models", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
