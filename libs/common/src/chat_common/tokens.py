"""Access-token verification, shared by every service (RFC 8725).

- Algorithms come from configuration, never from the token.
- `iss`, `aud`, `exp`, `iat` and `sub` are required; `typ` must be `at+jwt`
  (refresh tokens are opaque strings and can never pass as access tokens).
- The `kid` is only looked up in the loaded key set. Keys come from an inline
  JWKS (static deployments, tests) and/or the auth service's JWKS URL, which is
  cached and refetched on an unknown `kid` at most every `refetch_interval` s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import jwt
import orjson

from chat_common.errors import Unauthenticated

log = logging.getLogger(__name__)

ACCESS_TOKEN_TYPE = "at+jwt"
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "sub")


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    user_id: UUID
    claims: Mapping[str, Any]
    raw: str


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header value, or Unauthenticated."""
    if not authorization:
        raise Unauthenticated("missing bearer token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("missing bearer token")
    return token.strip()


def parse_jwks(document: bytes | str | Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    """kid -> key for every usable public key of a JWKS document."""
    data = orjson.loads(document) if isinstance(document, bytes | str) else document
    keys: dict[str, jwt.PyJWK] = {}
    for entry in data.get("keys", []):
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid or "d" in entry:  # never load private material
            continue
        try:
            keys[kid] = jwt.PyJWK(entry)
        except jwt.PyJWTError as exc:
            log.warning("skipping unusable JWK %s: %s", kid, exc)
    return keys


class TokenVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        algorithms: list[str],
        jwks_url: str | None = None,
        jwks: str | None = None,
        leeway: float = 30.0,
        refetch_interval: float = 5.0,
        fetch_timeout: float = 3.0,
    ) -> None:
        if not algorithms or any(
            a.lower() in ("none", "") or a.startswith("HS") for a in algorithms
        ):
            raise ValueError("access tokens need a fixed list of asymmetric algorithms")
        if not jwks_url and not jwks:
            raise ValueError("set a JWKS URL or an inline JWKS to verify tokens")
        self._issuer, self._audience = issuer, audience
        self._algorithms = list(algorithms)
        self._leeway = leeway
        self._jwks_url = jwks_url
        self._refetch_interval = refetch_interval
        self._fetch_timeout = fetch_timeout
        self._static_keys = parse_jwks(jwks) if jwks else {}
        self._fetched_keys: dict[str, jwt.PyJWK] = {}
        self._last_fetch = float("-inf")
        self._lock = asyncio.Lock()

    async def verify(self, token: str) -> VerifiedToken:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("invalid token") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self._algorithms or not isinstance(kid, str):
            raise Unauthenticated("invalid token")
        if header.get("typ", "").lower() not in (ACCESS_TOKEN_TYPE, "application/at+jwt"):
            raise Unauthenticated("invalid token")
        key = await self._key(kid)
        if key is None or key.algorithm_name != alg:
            raise Unauthenticated("invalid token")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
            user_id = UUID(str(claims["sub"]))
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired") from None
        except (jwt.PyJWTError, ValueError):
            raise Unauthenticated("invalid token") from None
        return VerifiedToken(user_id=user_id, claims=claims, raw=token)

    async def _key(self, kid: str) -> jwt.PyJWK | None:
        key = self._static_keys.get(kid) or self._fetched_keys.get(kid)
        if key is not None or not self._jwks_url:
            return key
        async with self._lock:
            if kid not in self._fetched_keys and self._may_refetch():
                await self._refresh()
        return self._fetched_keys.get(kid)

    def _may_refetch(self) -> bool:
        return time.monotonic() - self._last_fetch >= self._refetch_interval

    async def _refresh(self) -> None:
        assert self._jwks_url
        self._last_fetch = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=self._fetch_timeout) as client:
                response = await client.get(self._jwks_url)
                response.raise_for_status()
            self._fetched_keys = parse_jwks(response.content)
        except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
            # Keep the keys we had: an auth outage must not log everyone out.
            log.warning("could not fetch JWKS from %s: %s", self._jwks_url, exc)
