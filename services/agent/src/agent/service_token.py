"""The agent's own identity towards the conversations service: an OAuth 2.0
client-credentials token from auth (`POST /internal/token`, RFC 6749 §4.4).

A turn verifies the user's access token once, when it begins; every later write of the
reply goes out under this service token, naming the user it acts for. So a reply that
outlives the user's token (a 15-minute token, a long answer) is still stored whole, and
a user's own token can never write assistant, tool or system messages.

One token is shared by every call of the process and fetched again shortly before it
expires; concurrent callers wait for a single fetch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final

import httpx
from chat_common.errors import Unavailable

log = logging.getLogger(__name__)

TOKEN_PATH: Final = "/internal/token"
# Fetch a new token this long before the current one expires (or at half its life).
RENEW_MARGIN_SECONDS: Final = 60.0


class ServiceTokenSource:
    def __init__(
        self,
        *,
        auth_url: str,
        client_id: str,
        client_secret: str,
        timeout_seconds: float = 5.0,
    ) -> None:
        self._url = auth_url.rstrip("/") + TOKEN_PATH
        self._credentials = httpx.BasicAuth(client_id, client_secret)
        self._http = httpx.AsyncClient(timeout=timeout_seconds)
        self._token = ""
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        await self._http.aclose()

    async def token(self) -> str:
        """A current service token (cached), or Unavailable when auth cannot give one."""
        if time.monotonic() < self._renew_at:
            return self._token
        async with self._lock:
            if time.monotonic() >= self._renew_at:
                await self._fetch()
        return self._token

    async def _fetch(self) -> None:
        try:
            response = await self._http.post(
                self._url, data={"grant_type": "client_credentials"}, auth=self._credentials
            )
            response.raise_for_status()
            body = response.json()
            token, lifetime = str(body["access_token"]), float(body["expires_in"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.warning("could not get a service token from %s: %s", self._url, exc)
            raise Unavailable("the agent could not authenticate to its services") from None
        self._token = token
        self._renew_at = time.monotonic() + max(lifetime - RENEW_MARGIN_SECONDS, lifetime / 2)
