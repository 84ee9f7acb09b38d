"""Access tokens (signed JWTs) and refresh tokens (opaque, rotated, in families).

An access token is verified by every service with `chat_common.tokens.TokenVerifier`;
a refresh token is a random string only this service understands: the database holds
its SHA-256, never the token. Each refresh consumes the token and issues the next one
of its family; a replay of a consumed token revokes the whole family.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt
from chat_common.errors import Unauthenticated
from chat_common.tokens import ACCESS_TOKEN_TYPE

from auth import store
from auth.db import Sessions
from auth.keys import KeyRing
from auth.metrics import REUSE_DETECTIONS
from auth.models import TokenPair
from auth.settings import Settings

log = logging.getLogger(__name__)

REFRESH_TOKEN_BYTES = 32  # 256 bits of randomness; base64url without dots, never a JWT


def new_refresh_token() -> str:
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class AccessTokenIssuer:
    keys: KeyRing
    issuer: str
    audience: str
    ttl_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings, keys: KeyRing) -> AccessTokenIssuer:
        return cls(
            keys=keys,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl_seconds=settings.access_token_ttl_seconds,
        )

    def issue(self, user_id: uuid.UUID) -> str:
        return signed_token(
            self.keys,
            issuer=self.issuer,
            audience=self.audience,
            subject=str(user_id),
            ttl_seconds=self.ttl_seconds,
        )


def signed_token(
    keys: KeyRing,
    *,
    issuer: str,
    audience: str,
    subject: str,
    ttl_seconds: int,
    **claims: str,
) -> str:
    """A JWT (`typ: at+jwt`) signed by the ring's current key: users' access tokens and
    services' tokens alike, told apart by their audience."""
    key = keys.signing_key
    now = int(time.time())
    payload = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        **claims,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    headers = {"kid": key.kid, "typ": ACCESS_TOKEN_TYPE}
    return jwt.encode(payload, key.private_key, algorithm=key.algorithm, headers=headers)


@dataclass(frozen=True)
class Tokens:
    """Everything that hands out or takes back tokens, for one app."""

    db: Sessions
    access: AccessTokenIssuer
    refresh_ttl_days: int
    reuse_grace_seconds: float

    def _pair(self, user_id: uuid.UUID, refresh_token: str) -> TokenPair:
        return TokenPair(
            access_token=self.access.issue(user_id),
            expires_in=self.access.ttl_seconds,
            refresh_token=refresh_token,
        )

    async def start_session(self, user_id: uuid.UUID) -> TokenPair:
        """A new refresh-token family (one per login) and its first pair."""
        refresh_token = new_refresh_token()
        async with self.db.begin() as s:
            family_id = await store.create_family(s, user_id=user_id)
            await store.add_refresh_token(
                s,
                family_id=family_id,
                token_hash=hash_refresh_token(refresh_token),
                ttl_days=self.refresh_ttl_days,
            )
        return self._pair(user_id, refresh_token)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotates: the presented token dies, the next of its family is issued."""
        token_hash = hash_refresh_token(refresh_token)
        next_token = new_refresh_token()
        async with self.db.begin() as s:
            consumed = await store.consume_refresh_token(s, token_hash=token_hash)
            if consumed is not None:
                await store.add_refresh_token(
                    s,
                    family_id=consumed.family_id,
                    token_hash=hash_refresh_token(next_token),
                    ttl_days=self.refresh_ttl_days,
                )
        if consumed is not None:
            return self._pair(consumed.user_id, next_token)
        await self._on_dead_token(token_hash)
        raise Unauthenticated("invalid refresh token")

    async def _on_dead_token(self, token_hash: bytes) -> None:
        async with self.db.begin() as s:
            used = await store.find_used_token(s, token_hash=token_hash)
            if used is None:  # unknown, expired or revoked
                return
            if used.seconds_since_use <= self.reuse_grace_seconds and not used.successor_used:
                # The loser of a concurrent refresh (two tabs). Once the winner's token
                # has been used in turn, a replay is no race: it is a stolen token.
                return
            if await store.revoke_family(s, family_id=used.family_id):
                REUSE_DETECTIONS.inc()
                log.warning("refresh token replayed: revoked family %s", used.family_id)

    async def logout(self, refresh_token: str) -> None:
        """Revokes the token's family (the session); unknown tokens are ignored."""
        async with self.db.begin() as s:
            await store.revoke_family_of(s, token_hash=hash_refresh_token(refresh_token))
