"""Token verification with a small cache.

One client sends many turns with the same access token, and an Ed25519 check
costs ~0.2 ms of CPU. A verified token is reused only until its own `exp` and
at most CACHE_SECONDS (so a key withdrawn from the JWKS stops working soon).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Final

from chat_common.tokens import TokenVerifier, VerifiedToken

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
            if now < hit[1]:
                return hit[0]
            del self._cache[token]
        verified = await self._verifier.verify(token)  # raises Unauthenticated
        expires = float(verified.claims.get("exp", now))
        self._cache[token] = (verified, min(expires, now + CACHE_SECONDS))
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return verified
