"""Each service's own OpenAPI schema, loaded from the running stack, and a user of its own.

The stack is the session's `stack` (tests/conftest.py): real processes on free ports and a
database of its own from `make_database`. Schemas are read from each service's own port
(`/openapi.json` is not routed through the gateway), and the fuzzing goes there too.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import httpx
import pytest
import schemathesis
from devstack import Stack
from schemathesis.schemas import BaseSchema

PASSWORD = "correct horse battery"
# Access tokens live 15 minutes by default; a long run logs in again before that.
RELOGIN_AFTER_SECONDS = 600.0


@dataclass
class FuzzUser:
    """A user of the fuzzing alone: it may be logged out everywhere or see its
    conversations renamed, and no other test sees that."""

    auth_url: str
    email: str = field(default_factory=lambda: f"fuzz-{uuid.uuid4().hex[:12]}@example.com")
    _token: str = ""
    _at: float | None = None

    def register(self) -> None:
        with httpx.Client(base_url=self.auth_url, timeout=30.0) as http:
            body = {"email": self.email, "password": PASSWORD}
            response = http.post("/api/auth/register", json=body)
        assert response.status_code == 201, response.text

    @property
    def headers(self) -> dict[str, str]:
        if self._at is None or time.monotonic() - self._at > RELOGIN_AFTER_SECONDS:
            with httpx.Client(base_url=self.auth_url, timeout=30.0) as http:
                body = {"email": self.email, "password": PASSWORD}
                response = http.post("/api/auth/login", json=body)
            assert response.status_code == 200, response.text
            self._token, self._at = response.json()["access_token"], time.monotonic()
        return {"Authorization": f"Bearer {self._token}"}


@pytest.fixture(scope="session")
def fuzz_user(stack: Stack) -> FuzzUser:
    user = FuzzUser(stack.auth_url)
    user.register()
    return user


@pytest.fixture(scope="session")
def known_ids(stack: Stack, fuzz_user: FuzzUser) -> dict[str, str]:
    """Path parameters that exist: half of the cases use them, so fuzzed bodies get past
    the 404 of an unknown id into the code that stores them."""
    headers = {**fuzz_user.headers, "Accept": "application/json"}
    with httpx.Client(timeout=30.0, headers=headers) as http:
        created = http.post(f"{stack.conversations_url}/api/chat/conversations", json={})
        assert created.status_code == 201, created.text
        conversation_id = created.json()["id"]
        turn = http.post(
            f"{stack.agent_url}/api/chat/conversations/{conversation_id}/messages",
            json={"content": "hello"},
        )
        assert turn.status_code == 201, turn.text
    return {
        "conversation_id": conversation_id,
        "message_id": turn.json()["assistant_message"]["id"],
    }


def _schema(url: str) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{url}/openapi.json", wait_for_schema=30)


@pytest.fixture(scope="session")
def schemas(stack: Stack) -> dict[str, BaseSchema]:
    """Service name -> its live schema, whose base URL is that service's own port."""
    urls = {
        "auth": stack.auth_url,
        "conversations": stack.conversations_url,
        "agent": stack.agent_url,
    }
    return {name: _schema(url) for name, url in urls.items()}
