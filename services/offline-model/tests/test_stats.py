"""GET /_stats: how many model requests the process received, so a test can tell that a
refused turn called no model."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import openai
import pytest


@pytest.fixture
async def http(model_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=model_url.removesuffix("/v1"), timeout=10) as c:
        yield c


async def calls(http: httpx.AsyncClient) -> int:
    response = await http.get("/_stats")
    assert response.status_code == 200, response.text
    count: int = response.json()["calls"]
    return count


async def test_every_model_request_counts_once(
    http: httpx.AsyncClient, client: openai.AsyncOpenAI
) -> None:
    before = await calls(http)
    await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hello"}])
    await client.responses.create(model="m", input="hello")
    assert await calls(http) == before + 2


async def test_other_requests_do_not_count(http: httpx.AsyncClient) -> None:
    before = await calls(http)
    await http.get("/v1/models")
    await http.get("/healthz")
    assert await calls(http) == before


async def test_it_is_not_under_the_openai_paths(http: httpx.AsyncClient) -> None:
    assert (await http.get("/v1/_stats")).status_code == 404
