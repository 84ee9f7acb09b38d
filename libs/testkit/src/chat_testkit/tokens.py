"""Signing keys and access tokens for tests of services that only verify tokens."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ISSUER = "chatkit-backend"
AUDIENCE = "chatkit-backend"
SERVICE_AUDIENCE = "chat-internal"
AGENT_SCOPE = "conversations:agent"


@dataclass
class TestKeys:
    """An Ed25519 key pair standing in for the auth service's signing key."""

    kid: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:8]}")
    private_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    def jwks(self) -> str:
        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update(kid=self.kid, alg="EdDSA", use="sig")
        return json.dumps({"keys": [jwk]})

    def token(
        self,
        user_id: uuid.UUID | str,
        *,
        ttl: int = 900,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(user_id),
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        head = {"kid": self.kid, "typ": "at+jwt", **(headers or {})}
        return jwt.encode(payload, self.private_key, algorithm="EdDSA", headers=head)

    def service_token(
        self, client_id: str = "agent", *, scope: str = AGENT_SCOPE, ttl: int = 900
    ) -> str:
        """What auth's client-credentials grant gives an internal service."""
        return self.token(
            client_id, ttl=ttl, aud=SERVICE_AUDIENCE, client_id=client_id, scope=scope
        )

    def env(self) -> dict[str, str]:
        """Settings that make a service trust these keys and nothing else."""
        return {
            "AUTH_JWKS": self.jwks(),
            "AUTH_JWKS_URL": "",
            "JWT_ISSUER": ISSUER,
            "JWT_AUDIENCE": AUDIENCE,
            "SERVICE_TOKEN_AUDIENCE": SERVICE_AUDIENCE,
        }
