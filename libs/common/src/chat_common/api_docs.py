"""Where a service's interactive API docs live: nowhere in production.

`/docs` and `/redoc` load scripts from a CDN and invite browsing; production keeps only
the machine-readable `/openapi.json` on the service's own port (never routed by the
gateway), as the contract asks.
"""

from __future__ import annotations

from typing import TypedDict


class DocsUrls(TypedDict):
    docs_url: str | None
    redoc_url: str | None


def docs_urls(environment: str) -> DocsUrls:
    """Keyword arguments for `FastAPI(...)`: `FastAPI(**docs_urls(settings.environment))`."""
    if environment == "production":
        return {"docs_url": None, "redoc_url": None}
    return {"docs_url": "/docs", "redoc_url": "/redoc"}
