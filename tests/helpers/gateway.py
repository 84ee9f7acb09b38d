"""A client of the gateway: users signed up and logged in, conversations, turns, streams,
ChatKit requests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx
from chat_testkit.sse import SseEvent, iter_sse, sse_data

PASSWORD = "correct horse battery"


def chatkit_input(text: str, **fields: Any) -> dict[str, Any]:
    """A ChatKit user message saying `text`; `fields` add to (or replace) its parts."""
    return {
        "content": [{"type": "input_text", "text": text}],
        "attachments": [],
        "inference_options": {},
        **fields,
    }


def thread_create(text: str, **fields: Any) -> dict[str, Any]:
    """The `threads.create` request of a thread starting with `chatkit_input(text, **fields)`."""
    return {"type": "threads.create", "params": {"input": chatkit_input(text, **fields)}}


def created_thread_id(events: list[Any]) -> str:
    """The id of the thread a `threads.create` stream's `thread.created` event announced."""
    thread_id: str = next(e["thread"]["id"] for e in events if e["type"] == "thread.created")
    return thread_id


@dataclass
class User:
    id: str
    email: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass
class Stream:
    status_code: int
    headers: httpx.Headers
    events: list[SseEvent] = field(default_factory=list)

    def named(self, name: str) -> list[SseEvent]:
        return [e for e in self.events if e.event == name]


class GatewayClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30.0)

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        await self.http.aclose()

    async def sign_up(self, email: str | None = None, password: str = PASSWORD) -> User:
        """Registers a new user and logs in, through the gateway."""
        email = email or f"user-{uuid.uuid4().hex[:12]}@example.com"
        body = {"email": email, "password": password}
        registered = await self.http.post("/api/auth/register", json=body)
        assert registered.status_code == 201, registered.text
        login = await self.http.post("/api/auth/login", json=body)
        assert login.status_code == 200, login.text
        tokens = login.json()
        return User(registered.json()["id"], email, tokens["access_token"], tokens["refresh_token"])

    async def create_conversation(self, user: User, title: str | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/api/chat/conversations", json={"title": title}, headers=user.headers
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def send(
        self, user: User, conversation_id: str, content: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """One turn, JSON mode."""
        return await self.http.post(
            f"/api/chat/conversations/{conversation_id}/messages",
            json={"content": content},
            headers={**user.headers, "Accept": "application/json", **(headers or {})},
        )

    async def messages(self, user: User, conversation_id: str) -> list[dict[str, Any]]:
        response = await self.http.get(
            f"/api/chat/conversations/{conversation_id}/messages", headers=user.headers
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def chatkit(self, user: User, body: dict[str, Any]) -> Any:
        """One ChatKit request, which must succeed: its events if it streamed, else its JSON."""
        response = await self.http.post("/chatkit", json=body, headers=user.headers)
        assert response.status_code == 200, response.text
        if response.headers["content-type"].startswith("text/event-stream"):
            return sse_data(response.text)
        return response.json()

    async def stream(
        self, user: User, conversation_id: str, content: str, headers: dict[str, str] | None = None
    ) -> Stream:
        """One turn as SSE; every event keeps the moment it arrived."""
        async with self.http.stream(
            "POST",
            f"/api/chat/conversations/{conversation_id}/messages",
            json={"content": content},
            headers={**user.headers, "Accept": "text/event-stream", **(headers or {})},
        ) as response:
            result = Stream(response.status_code, response.headers)
            result.events = [event async for event in iter_sse(response)]
        return result
