"""Internal service identity: OAuth 2.0 client credentials (RFC 6749 §4.4).

One client for now, the agent (`AGENT_CLIENT_SECRET`). Its tokens are JWTs signed with
the same key ring as access tokens, but with their own audience (`SERVICE_TOKEN_AUDIENCE`)
and a `scope`, so a service token never passes as a user token, nor the reverse.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from chat_common.errors import Unauthenticated
from pydantic import SecretStr

from auth.keys import KeyRing
from auth.settings import Settings
from auth.tokens import signed_token

AGENT_CLIENT_ID = "agent"
AGENT_SCOPE = "conversations:agent"
# Compared against when the client id is unknown, so both paths cost the same.
_NO_SECRET = secrets.token_bytes(32)


class InvalidClient(Unauthenticated):
    default_message = "invalid client"
    default_headers = {"WWW-Authenticate": 'Basic realm="internal"'}


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: SecretStr
    scope: str


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


@dataclass(frozen=True)
class ServiceClients:
    clients: dict[str, Client]

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceClients:
        secret = settings.agent_client_secret
        if secret is None:  # development without a secret: nobody gets in
            return cls({})
        return cls({AGENT_CLIENT_ID: Client(AGENT_CLIENT_ID, secret, AGENT_SCOPE)})

    def authenticate(self, client_id: str, secret: str) -> Client:
        """The client these credentials name, or InvalidClient (constant-time compare)."""
        client = self.clients.get(client_id)
        expected = client.secret.get_secret_value().encode() if client else _NO_SECRET
        # Digests first: equal lengths, so not even the secret's length shows in the time.
        matches = hmac.compare_digest(_digest(expected), _digest(secret.encode()))
        if client is None or not matches:
            raise InvalidClient()
        return client


@dataclass(frozen=True)
class ServiceTokenIssuer:
    keys: KeyRing
    issuer: str
    audience: str
    ttl_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings, keys: KeyRing) -> ServiceTokenIssuer:
        return cls(
            keys=keys,
            issuer=settings.jwt_issuer,
            audience=settings.service_token_audience,
            ttl_seconds=settings.service_token_ttl_seconds,
        )

    def issue(self, client: Client) -> str:
        return self.token(client_id=client.client_id, scope=client.scope)

    def token(self, *, client_id: str, scope: str) -> str:
        """A service token; auth signs its own this way (it is the issuer)."""
        return signed_token(
            self.keys,
            issuer=self.issuer,
            audience=self.audience,
            subject=client_id,
            ttl_seconds=self.ttl_seconds,
            client_id=client_id,
            scope=scope,
        )
