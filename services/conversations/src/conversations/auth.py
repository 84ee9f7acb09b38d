"""Who is calling: the verified access token, on both doors (REST and gRPC).

Verification is the shared `TokenVerifier`'s; this adds a small cache, because one
turn makes several calls with the same token and an Ed25519 check costs ~0.2 ms of
CPU each time. A cached token is trusted only until its own `exp` (and at most
CACHE_SECONDS), so expiry is enforced exactly as without the cache.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Final

from chat_common.tokens import TokenVerifier, VerifiedToken, bearer_token

CACHE_SECONDS: Final = 60.0
CACHE_SIZE: Final = 4096


class CachingVerifier:
    def __init__(self, verifier: TokenVerifier, *, size: int = CACHE_SIZE) -> None:
        self._verifier = verifier
        self._size = size
        self._cache: OrderedDict[str, tuple[VerifiedToken, float]] = OrderedDict()

    async def verify(self, token: str) -> VerifiedToken:
        now = time.time()
        hit = self._cache.get(token)
        if hit is not None:
            verified, until = hit
            if now < until:
                return verified
            del self._cache[token]
        verified = await self._verifier.verify(token)
        expires = float(verified.claims.get("exp", now))
        self._cache[token] = (verified, min(expires, now + CACHE_SECONDS))
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return verified

    async def authenticate(self, authorization: str | None) -> VerifiedToken:
        """The verified token of an `Authorization: Bearer …` value, or Unauthenticated."""
        return await self.verify(bearer_token(authorization))


# What REST clients expect with a 401.
BEARER_CHALLENGE: Final = {"WWW-Authenticate": "Bearer"}
