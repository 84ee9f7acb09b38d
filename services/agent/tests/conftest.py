"""Real processes for the agent's tests, shared by the whole session (also by test_chatkit*):

Postgres (a fresh database) -> `python -m conversations.migrate` -> `python -m conversations`
(HTTP + gRPC), `python -m offline_model`, and `python -m agent` processes, all on free ports,
trusting the session's `test_keys`.

Fixtures: `conversations_service`, `offline_model`, `make_agent` (start another agent with
extra env), `agent` (Chat Completions style, HISTORY_LIMIT=6, 2 s model timeout),
`agent_responses` (Responses API style), `stack` (helpers: users, conversations, turns, SSE).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from chat_testkit.plugin import starts_processes
from chat_testkit.processes import ServiceProcess
from chat_testkit.sse import SseEvent, iter_sse
from chat_testkit.tokens import TestKeys

HISTORY_LIMIT = 6
MODEL_TIMEOUT_SECONDS = 2


@dataclass
class Service:
    process: ServiceProcess
    url: str  # http://127.0.0.1:<port>
    grpc_target: str = ""
    env: dict[str, str] = field(default_factory=dict)  # the settings it was started with


AGENT_CLIENT_SECRET = secrets.token_urlsafe(32)


@pytest.fixture(scope="session")
@starts_processes
def auth_service(
    make_database: Callable[..., str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The real auth service: it gives the agent its service token (client credentials)."""
    env = {
        "DATABASE_URL": make_database("agent_test_auth"),
        "JWT_KEYS_DIR": str(tmp_path_factory.mktemp("auth-keys")),
        "AGENT_CLIENT_SECRET": AGENT_CLIENT_SECRET,
    }
    subprocess.run(
        [sys.executable, "-m", "auth.migrate"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    process = ServiceProcess.python_module(
        "agent-tests-auth", "auth", env={**env, "LOG_LEVEL": "WARNING"}, ready_path="/readyz"
    )
    with process:
        yield Service(process, process.url(), env=env)


@pytest.fixture(scope="session")
@starts_processes
def conversations_service(
    make_database: Callable[..., str], test_keys: TestKeys, auth_service: Service
) -> Iterator[Service]:
    database_url = make_database("agent_test")
    # Users' tokens come from the test keys, the agent's service token from auth.
    jwks_url = f"{auth_service.url}/.well-known/jwks.json"
    env = {
        "DATABASE_URL": database_url,
        **test_keys.env(),
        "AUTH_JWKS_URL": jwks_url,
        # Short, so a test can outlive a user's token in seconds (test_service_identity).
        "JWT_LEEWAY_SECONDS": "1",
    }
    subprocess.run(
        [sys.executable, "-m", "conversations.migrate"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    process = ServiceProcess.python_module(
        "agent-tests-conversations",
        "conversations",
        env={**env, "LOG_LEVEL": "WARNING"},
        ready_path="/readyz",
    )
    with process:
        yield Service(process, process.url(), f"127.0.0.1:{process.ports['grpc']}")


@pytest.fixture(scope="session")
@starts_processes
def offline_model() -> Iterator[Service]:
    process = ServiceProcess.python_module(
        "agent-tests-offline-model",
        "offline_model",
        env={"LOG_LEVEL": "warning"},
        ready_path="/healthz",
    )
    with process:
        yield Service(process, process.url())


AgentFactory = Callable[..., Service]


@pytest.fixture(scope="session")
@starts_processes
def make_agent(
    conversations_service: Service,
    offline_model: Service,
    test_keys: TestKeys,
    auth_service: Service,
) -> Iterator[AgentFactory]:
    """Starts `python -m agent` against the session's services; `env` overrides settings."""
    started: list[ServiceProcess] = []

    def start(name: str = "agent", **env: str) -> Service:
        settings = {
            **test_keys.env(),
            "CONVERSATIONS_GRPC_TARGET": conversations_service.grpc_target,
            "AUTH_URL": auth_service.url,
            "AGENT_CLIENT_SECRET": AGENT_CLIENT_SECRET,
            "OPENAI_API_KEY": "",
            "OPENAI_BASE_URL": f"{offline_model.url}/v1",
            "OPENAI_MODEL": "offline-model",
            "OPENAI_TIMEOUT_SECONDS": str(MODEL_TIMEOUT_SECONDS),
            "OPENAI_MAX_RETRIES": "1",
            "HISTORY_LIMIT": str(HISTORY_LIMIT),
            "CONTENT_FLUSH_SECONDS": "0.2",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        process = ServiceProcess.python_module(
            f"agent-tests-{name}",
            "agent",
            env=settings,
            ready_path="/readyz",
        )
        started.append(process.start())
        return Service(process, process.url(), env=settings)

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def agent(make_agent: AgentFactory) -> Service:
    return make_agent("chat-completions")


@pytest.fixture(scope="session")
def agent_responses(make_agent: AgentFactory) -> Service:
    return make_agent("responses", OPENAI_API_STYLE="responses")


class Stack:
    """What a test does to the running services, as a user would."""

    @staticmethod
    def reply_to(content: str, received: int) -> str:
        """The offline model's deterministic reply to `content` after `received` messages."""
        return f'You said: "{content}". I received {received} messages.'

    def __init__(self, http: httpx.AsyncClient, keys: TestKeys, conversations: Service) -> None:
        self.http = http
        self.keys = keys
        self.conversations = conversations

    def user(self) -> str:
        """A fresh user's access token."""
        return self.keys.token(uuid.uuid4())

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def new_conversation(self, token: str) -> str:
        response = await self.http.post(
            f"{self.conversations.url}/api/chat/conversations", json={}, headers=self.auth(token)
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def messages(self, token: str, conversation_id: str) -> list[dict[str, Any]]:
        url = f"{self.conversations.url}/api/chat/conversations/{conversation_id}/messages"
        response = await self.http.get(url, params={"limit": 100}, headers=self.auth(token))
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def send(
        self,
        agent: Service,
        token: str,
        conversation_id: str,
        content: Any,
        *,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """A JSON-mode turn."""
        return await self.http.post(
            f"{agent.url}/api/chat/conversations/{conversation_id}/messages",
            json=body if body is not None else {"content": content},
            headers={**self.auth(token), **(headers or {})},
        )

    def stream(
        self, agent: Service, token: str, conversation_id: str, content: str
    ) -> Any:  # an httpx streaming context manager
        return self.http.stream(
            "POST",
            f"{agent.url}/api/chat/conversations/{conversation_id}/messages",
            json={"content": content},
            headers={**self.auth(token), "Accept": "text/event-stream"},
        )

    async def sse_turn(
        self, agent: Service, token: str, conversation_id: str, content: str
    ) -> list[SseEvent]:
        async with self.stream(agent, token, conversation_id, content) as response:
            assert response.status_code == 200, await response.aread()
            assert response.headers["content-type"].startswith("text/event-stream")
            return [event async for event in iter_sse(response)]


@pytest.fixture(scope="session")
async def stack(test_keys: TestKeys, conversations_service: Service) -> AsyncIterator[Stack]:
    async with httpx.AsyncClient(timeout=30.0) as http:
        yield Stack(http, test_keys, conversations_service)
