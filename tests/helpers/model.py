"""The offline model's call counter: how a test sees that a refused turn cost nothing."""

from __future__ import annotations

import httpx
from devstack import Stack


async def model_calls(stack: Stack) -> int:
    """Model requests the stack's offline model (one process) has received so far."""
    url = stack.offline_model_url.removesuffix("/v1") + "/_stats"
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(url)
    response.raise_for_status()
    calls: int = response.json()["calls"]
    return calls
