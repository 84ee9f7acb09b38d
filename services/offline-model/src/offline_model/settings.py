"""Settings from the environment: HOST, PORT, LOG_LEVEL and `OFFLINE_MODEL_*`.

Plain os.environ reads (no pydantic) keep start-up and the import graph small: this server is
the "instant model" floor of the benchmark.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

PREFIX = "OFFLINE_MODEL_"


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8090
    log_level: str = "info"
    # Default pace of every stream; 0 = instant. `[[slow:R]]` overrides it per request.
    tokens_per_second: float = 0.0
    # Model ids listed by GET /v1/models (any other id is accepted and echoed too).
    models: tuple[str, ...] = ("offline-model",)
    # `retry-after-ms` hint sent with [[fail...]] answers so SDK retries are quick in tests;
    # 0 sends no hint (the SDK then uses its own backoff).
    retry_after_ms: int = 10

    @classmethod
    def from_env(cls) -> Settings:
        models = tuple(m.strip() for m in _env(PREFIX + "MODELS", "offline-model").split(","))
        return cls(
            host=_env("HOST", "127.0.0.1"),
            port=int(_env("PORT", "8090")),
            log_level=_env("LOG_LEVEL", "info").lower(),
            tokens_per_second=float(_env(PREFIX + "TOKENS_PER_SECOND", "0")),
            models=tuple(m for m in models if m),
            retry_after_ms=int(_env(PREFIX + "RETRY_AFTER_MS", "10")),
        )


@lru_cache
def get_settings() -> Settings:
    return Settings.from_env()
