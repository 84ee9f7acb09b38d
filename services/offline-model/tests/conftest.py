"""One real offline model process for the whole module, on the port it binds."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
import pytest
from chat_testkit.plugin import starts_processes
from chat_testkit.processes import ServiceProcess


@pytest.fixture(scope="session")
@starts_processes
def model_url() -> Iterator[str]:
    env = {"OFFLINE_MODEL_TOKENS_PER_SECOND": "0", "LOG_LEVEL": "warning"}
    with ServiceProcess.python_module(
        "offline-model", "offline_model", env=env, ready_path="/healthz"
    ) as process:
        yield process.url("/v1")


@pytest.fixture
async def client(model_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=model_url, api_key="offline", max_retries=0, timeout=10.0
    ) as c:
        yield c
