"""Settings shared by the services. Each service subclasses these in its own
`settings.py` behind a cached `get_settings()`; nothing is read at import time."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chat_common.tokens import TokenVerifier

DEFAULT_AUTH_JWKS_URL = "http://127.0.0.1:8001/.well-known/jwks.json"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    # "development" generates what it lacks; "production" fails fast on missing secrets.
    environment: Literal["development", "production"] = "development"
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8000
    # The gateway logs every request; a service's own access log is off unless asked for.
    access_log: bool = False
    # `text`: one readable line per record; `json`: one JSON object per line (chat_common.logs).
    log_format: Literal["text", "json"] = "text"
    # Prometheus metrics at GET /metrics on the service's own port (chat_common.metrics).
    metrics_enabled: bool = True
    # On SIGTERM, how long requests in flight (a streaming reply) may take to finish.
    shutdown_grace_seconds: float = Field(25.0, ge=0)
    # OpenTelemetry traces (chat_common.tracing): exported over OTLP/HTTP to this base URL
    # (e.g. http://collector:4318); unset, nothing is traced.
    otel_exporter_otlp_endpoint: str | None = None
    # The service name spans carry; unset, the service's own name.
    otel_service_name: str | None = None


class TokenSettings(ServiceSettings):
    """How a service verifies access tokens (all services but auth read these)."""

    auth_jwks_url: str | None = DEFAULT_AUTH_JWKS_URL
    # An inline JWKS document (JSON); used instead of / besides the URL.
    auth_jwks: str | None = None
    jwt_issuer: str = "chatkit-backend"
    jwt_audience: str = "chatkit-backend"
    # Audience of service tokens (auth's client-credentials grant); never the users' one.
    service_token_audience: str = "chat-internal"
    # Comma-separated, fixed by configuration (RFC 8725): never taken from a token.
    jwt_algorithms: str = "EdDSA,RS256"
    jwt_leeway_seconds: float = 30.0

    @model_validator(mode="after")
    def _has_a_key_source(self) -> TokenSettings:
        if not self.auth_jwks_url and not self.auth_jwks:
            raise ValueError("set AUTH_JWKS_URL (or AUTH_JWKS) so access tokens can be verified")
        url = self.auth_jwks_url
        if self.environment == "production" and url and not trusted_jwks_url(url):
            raise ValueError(
                "AUTH_JWKS_URL must be https, or plain http to an internal host"
                " (loopback, a single-label or cluster-local name), in production"
            )
        return self

    def token_verifier(self) -> TokenVerifier:
        return TokenVerifier(
            issuer=self.jwt_issuer,
            audience=self.jwt_audience,
            algorithms=[a.strip() for a in self.jwt_algorithms.split(",") if a.strip()],
            jwks_url=self.auth_jwks_url,
            jwks=self.auth_jwks,
            leeway=self.jwt_leeway_seconds,
            service_audience=self.service_token_audience,
        )


_INTERNAL_SUFFIXES = (".svc", ".svc.cluster.local", ".cluster.local", ".internal")


def trusted_jwks_url(url: str) -> bool:
    """Whether keys fetched from `url` can be trusted: TLS, or a hop that never leaves the
    private network (the auth service by its internal name). A JWKS over plain http
    across the internet would let anyone on the path mint tokens."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https":
        return bool(host)
    if parts.scheme != "http" or not host:
        return False
    if host in ("localhost", "::1") or host.startswith("127."):
        return True
    return "." not in host or host.endswith(_INTERNAL_SUFFIXES)


def async_database_url(url: str) -> str:
    """`postgresql://…` as SQLAlchemy's psycopg 3 driver URL."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a postgresql:// URL")
