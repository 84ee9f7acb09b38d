"""The auth service's settings (env, 12-factor). Read once via `get_settings()`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from chat_common.client_address import DEFAULT_TRUSTED_PROXIES, TrustedProxies
from chat_common.settings import ServiceSettings
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

# OWASP Password Storage Cheat Sheet: argon2id at m=19 MiB, t=2, p=1 or an equivalent
# trade-off (m=46 MiB/t=1 ... m=7 MiB/t=5), i.e. memory * iterations >= ~35 MiB.
OWASP_MIN_MEMORY_KIB = 7168
OWASP_MIN_MEMORY_TIMES_ITERATIONS = 35840
DEFAULT_DEV_KEYS_DIR = Path(".data/keys")
MIN_CLIENT_SECRET_CHARS = 32


class Settings(ServiceSettings):
    # `NAME=` (how compose files pass an unset variable through) means "use the default".
    model_config = SettingsConfigDict(env_ignore_empty=True)  # merged with the parent's

    port: int = 8001
    database_url: str = Field(min_length=1)
    db_pool_size: int = Field(10, ge=1, le=100)

    jwt_issuer: str = "chatkit-backend"
    jwt_audience: str = "chatkit-backend"
    # One or more PEM private keys (Ed25519 or RSA >= 2048) in one value; the LAST signs,
    # the others still verify. Literal "\n" sequences are read as newlines.
    jwt_private_keys: SecretStr | None = None
    # Or a directory of *.pem files: the file whose name sorts last signs. In development
    # an Ed25519 key is generated there once when it holds none.
    jwt_keys_dir: Path | None = None
    jwt_leeway_seconds: float = Field(30.0, ge=0, le=300)

    access_token_ttl_seconds: int = Field(900, ge=30, le=3600)
    refresh_token_ttl_days: int = Field(30, ge=1, le=365)
    # A used refresh token replayed within this many seconds (a double-submit or two tabs
    # racing) is refused without revoking its family; later replays revoke the family.
    refresh_reuse_grace_seconds: float = Field(2.0, ge=0, le=60)

    # Login throttle per (account, client address): this many failures are free, then each
    # next attempt waits LOGIN_DELAY_SECONDS, doubling per failure, at most the window.
    # A pair's failures are forgotten after LOGIN_FAILURE_WINDOW_SECONDS without attempts.
    login_max_failures: int = Field(5, ge=1, le=1000)
    login_failure_window_seconds: int = Field(900, ge=1, le=86400)
    login_delay_seconds: float = Field(30.0, gt=0, le=86400)
    # Failed logins one client address may make across all accounts in the window.
    login_address_max_failures: int = Field(100, ge=1, le=1_000_000)
    # Peers whose X-Real-IP header is believed (the gateway): a comma list of IPs/CIDRs.
    trusted_proxies: str = DEFAULT_TRUSTED_PROXIES

    # OAuth 2.0 client credentials (RFC 6749 §4.4) for internal services: the agent's
    # secret. Unset in development: `/internal/token` refuses every client.
    agent_client_secret: SecretStr | None = None
    service_token_audience: str = Field("chat-internal", min_length=1)
    service_token_ttl_seconds: int = Field(900, ge=30, le=3600)

    # Account deletion: conversations deletes the data, told over gRPC by a background
    # courier that retries after ACCOUNT_DELETION_RETRY_SECONDS, doubling up to the max.
    conversations_grpc_target: str = Field("127.0.0.1:50051", min_length=1)
    account_deletion_retry_seconds: float = Field(1.0, gt=0, le=3600)
    account_deletion_retry_max_seconds: float = Field(60.0, gt=0, le=86400)
    # How often each replica re-reads the deleted accounts `/verify` refuses (a deletion
    # made on another replica is refused within this time; on this one at once).
    deleted_users_refresh_seconds: float = Field(0.5, gt=0, le=1.0)

    # argon2id cost; the defaults are OWASP's first recommendation (m=19 MiB, t=2, p=1).
    # Raise them freely: existing hashes are upgraded at the next successful login.
    password_hash_time_cost: int = Field(2, ge=1, le=20)
    password_hash_memory_kib: int = Field(19456, ge=8, le=4 * 1024 * 1024)
    password_hash_parallelism: int = Field(1, ge=1, le=16)
    # At most this many hashes at once, each in a worker thread off the event loop.
    password_hash_concurrency: int = Field(4, ge=1, le=64)
    # Hashes that may wait for a slot; beyond it login/register answer 503 at once.
    password_hash_queue: int = Field(16, ge=0, le=10_000)

    @field_validator("jwt_private_keys", "jwt_keys_dir", "agent_client_secret", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `JWT_PRIVATE_KEYS=` (as compose files write an unset variable) means "not given".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        TrustedProxies.parse(value)  # a ValueError names the bad entry (no secret here)
        return value

    @model_validator(mode="after")
    def _audiences_differ(self) -> Settings:
        if self.service_token_audience == self.jwt_audience:
            raise ValueError(
                "SERVICE_TOKEN_AUDIENCE must differ from JWT_AUDIENCE, so a service token "
                "never passes as a user token"
            )
        return self

    @model_validator(mode="after")
    def _production_is_strict(self) -> Settings:
        if self.environment != "production":
            return self
        memory, iterations = self.password_hash_memory_kib, self.password_hash_time_cost
        if memory < OWASP_MIN_MEMORY_KIB or memory * iterations < OWASP_MIN_MEMORY_TIMES_ITERATIONS:
            raise ValueError(
                "PASSWORD_HASH_MEMORY_KIB / PASSWORD_HASH_TIME_COST are below OWASP's minimum "
                "for argon2id (e.g. 19456 KiB with 2 iterations); refusing to start in production"
            )
        if self.jwt_private_keys is None and self.jwt_keys_dir is None:
            raise ValueError(
                "set JWT_PRIVATE_KEYS (PEM private keys) or JWT_KEYS_DIR (a directory of PEM "
                "files) to sign access tokens; production never generates keys"
            )
        secret = self.agent_client_secret
        if secret is None or len(secret.get_secret_value()) < MIN_CLIENT_SECRET_CHARS:
            raise ValueError(
                f"AGENT_CLIENT_SECRET must be set to at least {MIN_CLIENT_SECRET_CHARS} "
                "characters in production (e.g. `openssl rand -base64 48`)"
            )
        return self

    @property
    def proxies(self) -> TrustedProxies:
        return TrustedProxies.parse(self.trusted_proxies)

    @property
    def keys_dir(self) -> Path | None:
        """Where keys live when they are not given inline (development has a default)."""
        if self.jwt_keys_dir is not None:
            return self.jwt_keys_dir
        if self.jwt_private_keys is None and self.environment == "development":
            return DEFAULT_DEV_KEYS_DIR
        return None


@lru_cache
def get_settings() -> Settings:
    return Settings()  # database_url comes from the environment
