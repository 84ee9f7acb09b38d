"""Access-token verification, shared by every service (RFC 8725).

- Algorithms come from configuration, never from the token.
- `iss`, `aud`, `exp`, `iat` and `sub` are required; `typ` must be `at+jwt`
  (refresh tokens are opaque strings and can never pass as access tokens).
- The `kid` is only looked up in the loaded key set. Keys come from an inline
  JWKS (static deployments, tests) and/or the auth service's JWKS URL, which is
  cached and refetched on an unknown `kid` at most every `refetch_interval` s.
  Fetched keys also expire after `cache_ttl` s, so a key removed from the JWKS
  (rotated out) stops verifying everywhere, not only after a restart. Known keys
  are served stale while a refresh runs in the background (an auth outage or a slow
  JWKS fetch never blocks them); only an unknown `kid`, or keys past `max_stale`,
  wait for a fetch.
- Two kinds of token, told apart by audience: user access tokens (`sub` is the
  user id) and service tokens from auth's client-credentials grant (`sub` is the
  client, `scope` what it may do; audience `service_audience`). Neither passes
  as the other.
- Anything malformed (header types, sizes, encodings) is a 401, never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

import httpx
import jwt
import orjson

from chat_common.errors import Unauthenticated

log = logging.getLogger(__name__)
V = TypeVar("V", "VerifiedToken", "ServiceToken")

ACCESS_TOKEN_TYPE = "at+jwt"
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "sub")
ACCEPTED_TYPES = (ACCESS_TOKEN_TYPE, "application/at+jwt")  # RFC 9068
MAX_TOKEN_CHARS = 8192  # ours are ~400; refuse megabyte "tokens" before parsing them


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    user_id: UUID
    claims: Mapping[str, Any]
    raw: str


@dataclass(frozen=True, slots=True)
class ServiceToken:
    """A verified client-credentials token: an internal service, not a user."""

    client_id: str
    scopes: frozenset[str]
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
    entries = data.get("keys") if isinstance(data, Mapping) else None
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping):
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid or "d" in entry:  # never load private material
            continue
        try:
            keys[kid] = jwt.PyJWK(dict(entry))
        except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
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
        cache_ttl: float = 300.0,
        max_stale: float = 3600.0,
        service_audience: str | None = None,
    ) -> None:
        if not algorithms or any(
            a.lower() in ("none", "") or a.startswith("HS") for a in algorithms
        ):
            raise ValueError("access tokens need a fixed list of asymmetric algorithms")
        if not jwks_url and not jwks:
            raise ValueError("set a JWKS URL or an inline JWKS to verify tokens")
        if service_audience is not None and service_audience == audience:
            raise ValueError("service tokens need an audience of their own")
        self._issuer, self._audience = issuer, audience
        self._service_audience = service_audience
        self._algorithms = list(algorithms)
        self._leeway = leeway
        self._jwks_url = jwks_url
        self._refetch_interval = refetch_interval
        self._fetch_timeout = fetch_timeout
        self._cache_ttl = cache_ttl
        self._max_stale = max(max_stale, cache_ttl)
        self._static_keys = parse_jwks(jwks) if jwks else {}
        self._fetched_keys: dict[str, jwt.PyJWK] = {}
        self._last_fetch = float("-inf")  # last attempt
        self._fetched_at = float("-inf")  # last success
        self._lock = asyncio.Lock()
        self._background_refresh: asyncio.Task[None] | None = None

    async def verify(self, token: str) -> VerifiedToken:
        """A user access token (`sub` is the user id), or Unauthenticated."""
        claims = await self._verified_claims(token, self._audience)
        try:
            user_id = UUID(str(claims["sub"]))
        except (ValueError, TypeError):
            raise Unauthenticated("invalid token") from None
        return VerifiedToken(user_id=user_id, claims=claims, raw=token)

    async def verify_service(self, token: str) -> ServiceToken:
        """A service token from auth's client-credentials grant, or Unauthenticated."""
        if self._service_audience is None:
            raise Unauthenticated("invalid token")
        claims = await self._verified_claims(token, self._service_audience)
        client_id, scope = claims.get("client_id", claims["sub"]), claims.get("scope", "")
        if not isinstance(client_id, str) or not isinstance(scope, str):
            raise Unauthenticated("invalid token")
        return ServiceToken(client_id, frozenset(scope.split()), claims, token)

    async def _verified_claims(self, token: str, audience: str) -> dict[str, Any]:
        alg, kid = self._checked_header(token)
        key = await self._key(kid)
        if key is None or key.algorithm_name != alg:
            raise Unauthenticated("invalid token")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired") from None
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError):
            raise Unauthenticated("invalid token") from None
        return claims

    def _checked_header(self, token: str) -> tuple[str, str]:
        """(alg, kid) of a token whose header asks for nothing we do not allow."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
            raise Unauthenticated("invalid token")
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, ValueError, TypeError):
            raise Unauthenticated("invalid token") from None
        alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise Unauthenticated("invalid token")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("invalid token")
        if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES:
            raise Unauthenticated("invalid token")
        if "crit" in header:  # we understand no extension, so none may be critical
            raise Unauthenticated("invalid token")
        return alg, kid

    async def _key(self, kid: str) -> jwt.PyJWK | None:
        key = self._static_keys.get(kid)
        if key is not None or not self._jwks_url:
            return key
        age = time.monotonic() - self._fetched_at
        if kid in self._fetched_keys and age < self._max_stale:
            if age >= self._cache_ttl:
                self._refresh_in_background()  # serve stale while revalidating
            return self._fetched_keys[kid]
        # An unknown kid (a rotation) or keys too old to trust: wait for a fetch.
        async with self._lock:
            missing = self._fetched_keys.get(kid) is None or self._too_stale()
            if missing and self._may_refetch():
                await self._refresh()
        if self._too_stale():
            return None
        return self._fetched_keys.get(kid)

    def _too_stale(self) -> bool:
        return time.monotonic() - self._fetched_at >= self._max_stale

    def _may_refetch(self) -> bool:
        return time.monotonic() - self._last_fetch >= self._refetch_interval

    def _refresh_in_background(self) -> None:
        running = self._background_refresh is not None and not self._background_refresh.done()
        if running or not self._may_refetch():
            return
        self._last_fetch = time.monotonic()  # at most one refresh per refetch_interval
        self._background_refresh = asyncio.get_running_loop().create_task(self._locked_refresh())

    async def _locked_refresh(self) -> None:
        async with self._lock:
            await self._refresh()

    async def _refresh(self) -> None:
        assert self._jwks_url
        self._last_fetch = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=self._fetch_timeout) as client:
                response = await client.get(self._jwks_url)
                response.raise_for_status()
            self._fetched_keys = parse_jwks(response.content)
            self._fetched_at = time.monotonic()
        except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
            # Keep the keys we had: an auth outage must not log everyone out.
            log.warning("could not fetch JWKS from %s: %s", self._jwks_url, exc)


class CachingVerifier:
    """A TokenVerifier with a small cache of tokens it has already verified.

    One turn makes several calls with the same token, and each signature check costs
    CPU on the hot path (docs/benchmarks.md measures it). A cached token is trusted
    only until its own `exp` and at most `ttl` seconds (so a key withdrawn from the
    JWKS stops working soon); only the exact strings that once verified can hit, so a
    forged token never does. User and service tokens are cached apart: a string
    verified as one kind is never answered as the other.
    """

    def __init__(self, verifier: TokenVerifier, *, size: int = 4096, ttl: float = 60.0) -> None:
        self._verifier = verifier
        self._users: _TokenCache[VerifiedToken] = _TokenCache(size, ttl)
        self._services: _TokenCache[ServiceToken] = _TokenCache(64, ttl)

    async def verify(self, token: str) -> VerifiedToken:
        return await self._users.get_or_verify(token, self._verifier.verify)

    async def verify_service(self, token: str) -> ServiceToken:
        return await self._services.get_or_verify(token, self._verifier.verify_service)

    async def authenticate(self, authorization: str | None) -> VerifiedToken:
        """The verified token of an `Authorization: Bearer …` value, or Unauthenticated."""
        return await self.verify(bearer_token(authorization))

    @property
    def user_cache_hits(self) -> int:
        """User tokens answered from the cache so far (read by a metrics collector)."""
        return self._users.hits


class _TokenCache(Generic[V]):
    def __init__(self, size: int, ttl: float) -> None:
        self._size, self._ttl = size, ttl
        self._entries: OrderedDict[str, tuple[V, float]] = OrderedDict()
        self.hits = 0  # a plain int: counted on every request, read only when scraped

    async def get_or_verify(self, token: str, verify: Callable[[str], Awaitable[V]]) -> V:
        now = time.time()
        hit = self._entries.get(token)
        if hit is not None:
            if now < hit[1]:
                self.hits += 1
                return hit[0]
            del self._entries[token]
        verified = await verify(token)  # raises Unauthenticated
        expires = float(verified.claims.get("exp", now))
        self._entries[token] = (verified, min(expires, now + self._ttl))
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return verified
