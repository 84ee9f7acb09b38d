"""Fixtures for the conversations service's tests.

One fresh database per session, migrated by `conversations.migrate`. The service runs
in this process (its real lifespan: pool, gRPC server on the port it bound: `grpc_port`):
REST is called through httpx's ASGI transport, gRPC through a real channel to that real
server. The few tests that need the real process (`python -m conversations`) use
`service_process`.

Tests stay independent by using fresh users (`make_user`): every query is per user.
"""

from __future__ import annotations

import concurrent.futures
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import psycopg
import pytest
from chat.conversations.v1 import conversations_pb2 as pb
from chat.conversations.v1 import conversations_pb2_grpc as pb_grpc
from chat_testkit.plugin import starts_processes
from chat_testkit.processes import ServiceProcess
from chat_testkit.tokens import SERVICE_AUDIENCE, TestKeys
from conversations import migrate
from conversations.deps import STATE
from conversations.main import create_app
from conversations.settings import Settings
from fastapi import FastAPI

MAX_CHARS = 10_000
# The `conn` fixture's: an autocommit connection to the test database.
Conn = psycopg.AsyncConnection[tuple[Any, ...]]


# RPCs (and AppendMessage roles) that only the agent's service identity may call.
AGENT_ONLY = frozenset({"StartTurn", "UpdateMessage"})
AGENT_ROLES = frozenset({"assistant", "tool", "system"})


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    token: str
    # The agent's service token, for calls the agent makes acting for this user.
    agent_token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),)

    @property
    def agent_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.agent_token}"), ("x-acting-user", str(self.id)))


class Api:
    """REST calls as a given user (or anonymously, with `user=None`)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def request(
        self, user: User | None, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        headers = {**(user.headers if user else {}), **kwargs.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def get(self, user: User | None, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request(user, "GET", path, **kwargs)

    async def create(self, user: User, **body: Any) -> dict[str, Any]:
        response = await self.request(user, "POST", "/api/chat/conversations", json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def conversation(self, user: User, conversation_id: str) -> dict[str, Any]:
        response = await self.get(user, f"/api/chat/conversations/{conversation_id}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def messages(self, user: User, conversation_id: str, **params: Any) -> dict[str, Any]:
        path = f"/api/chat/conversations/{conversation_id}/messages"
        response = await self.get(user, path, params=params)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def all_conversation_ids(self, user: User) -> list[str]:
        response = await self.get(user, "/api/chat/conversations", params={"limit": 100})
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]


class Rpc:
    """gRPC calls as a given user against the real server."""

    def __init__(self, stub: pb_grpc.ConversationsServiceAsyncStub) -> None:
        self.stub = stub

    async def __call__(
        self, user: User | None, method: str, request: Any, *, as_agent: bool | None = None
    ) -> Any:
        """`as_agent`: call as the agent acting for `user` (default: when the call needs it)."""
        if as_agent is None:
            as_agent = method in AGENT_ONLY or getattr(request, "role", "") in AGENT_ROLES
        metadata = None if user is None else user.agent_metadata if as_agent else user.metadata
        return await getattr(self.stub, method)(request, metadata=metadata, timeout=10)

    async def error(
        self, user: User | None, method: str, request: Any, *, as_agent: bool | None = None
    ) -> grpc.StatusCode:
        """The status code of a call that must fail."""
        try:
            await self(user, method, request, as_agent=as_agent)
        except grpc.aio.AioRpcError as exc:
            return exc.code()
        raise AssertionError(f"{method} succeeded but should have failed")

    async def conversation(self, user: User, **fields: Any) -> pb.Conversation:
        result: pb.Conversation = await self(
            user, "CreateConversation", pb.CreateConversationRequest(**fields)
        )
        return result

    async def turn(
        self, user: User, conversation_id: str, content: str, **fields: Any
    ) -> pb.StartTurnResponse:
        request = pb.StartTurnRequest(conversation_id=conversation_id, content=content, **fields)
        result: pb.StartTurnResponse = await self(user, "StartTurn", request)
        return result

    async def append(
        self, user: User, conversation_id: str, content: str, role: str = "user", **fields: Any
    ) -> pb.Message:
        request = pb.AppendMessageRequest(
            conversation_id=conversation_id, role=role, content=content, **fields
        )
        result: pb.Message = await self(user, "AppendMessage", request)
        return result

    async def update(self, user: User, message: pb.Message, **fields: Any) -> pb.Message:
        """The agent's UpdateMessage of `message` setting `fields` (none: a heartbeat)."""
        request = pb.UpdateMessageRequest(
            conversation_id=message.conversation_id, message_id=message.id, **fields
        )
        result: pb.Message = await self(user, "UpdateMessage", request)
        return result

    async def reply(self, user: User, text: str = "") -> pb.Message:
        """The in-progress reply of a turn in a new conversation, `text` written so far."""
        conv = await self.conversation(user)
        reply = (await self.turn(user, conv.id, "hi")).assistant_message
        return await self.update(user, reply, content=text) if text else reply

    async def stored(self, user: User, message: pb.Message) -> pb.Message:
        """`message` as it is stored now."""
        request = pb.GetMessageRequest(
            conversation_id=message.conversation_id, message_id=message.id
        )
        result: pb.Message = await self(user, "GetMessage", request)
        return result

    async def history(self, user: User, conversation_id: str, **fields: Any) -> list[pb.Message]:
        request = pb.ListMessagesRequest(conversation_id=conversation_id, **fields)
        response: pb.ListMessagesResponse = await self(user, "ListMessages", request)
        return list(response.items)


UserFactory = Callable[[], User]


def migrate_database(url: str) -> None:
    # Alembic runs its own event loop: keep it off the test session's loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(migrate.upgrade, url).result()


@pytest.fixture(scope="session")
def database_url(make_database: Callable[..., str]) -> str:
    url = make_database("conversations_test")
    migrate_database(url)
    return url


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[Conn]:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as c:
        yield c


@pytest.fixture(scope="session")
def settings(database_url: str, test_keys: TestKeys) -> Settings:
    return Settings(
        database_url=database_url,
        port=0,  # unused: REST goes through the ASGI transport
        grpc_port=0,  # the server binds any free port (`grpc_port` below)
        message_max_chars=MAX_CHARS,
        auth_jwks=test_keys.jwks(),
        auth_jwks_url=None,
        service_token_audience=SERVICE_AUDIENCE,
        log_level="WARNING",
        db_pool_max_size=5,
        # Off for the suite (tests start many turns per user); test_budgets sets its own.
        turn_rate_per_minute=0,
        max_concurrent_turns=0,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def api(app: FastAPI) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://conversations") as http:
        yield Api(http)


@pytest.fixture(scope="session")
def grpc_port(app: FastAPI) -> int:
    """Where the in-process gRPC server listens."""
    return STATE.of(app).grpc_port


@pytest.fixture(scope="session")
async def rpc(grpc_port: int) -> AsyncIterator[Rpc]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        yield Rpc(pb_grpc.ConversationsServiceStub(channel))


@pytest.fixture(scope="session")
def make_user(test_keys: TestKeys) -> UserFactory:
    def factory() -> User:
        user_id = uuid.uuid4()
        return User(user_id, test_keys.token(user_id), agent_token)

    agent_token = test_keys.service_token()

    return factory


@pytest.fixture
def alice(make_user: UserFactory) -> User:
    return make_user()


@pytest.fixture
def bob(make_user: UserFactory) -> User:
    return make_user()


@dataclass(frozen=True)
class RunningService:
    process: ServiceProcess
    url: str
    grpc_target: str
    env: dict[str, str]


@pytest.fixture(scope="session")
@starts_processes
def service_process(database_url: str, test_keys: TestKeys) -> Iterator[RunningService]:
    """`python -m conversations` on the session's database (next to the in-process one)."""
    env = {**test_keys.env(), "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    process = ServiceProcess.python_module(
        "conversations-tests", "conversations", env=env, ready_path="/readyz"
    )
    with process:
        grpc_target = f"127.0.0.1:{process.ports['grpc']}"
        yield RunningService(process, process.url(), grpc_target, env)
