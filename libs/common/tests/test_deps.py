"""The shared dependencies: a service's state read from `app.state`, and the bearer user
(our 401 without a usable token, documented in OpenAPI as HTTP bearer)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import httpx
import pytest
from chat_common.deps import AppState, bearer_user
from chat_common.errors import Unauthenticated, install_error_handlers
from chat_common.tokens import VerifiedToken
from fastapi import Depends, FastAPI

ALICE = uuid.uuid4()


class OneTokenVerifier:
    """A working verifier that knows exactly one token: Alice's."""

    async def verify(self, token: str) -> VerifiedToken:
        if token != "alice-token":
            raise Unauthenticated("invalid token")
        return VerifiedToken(user_id=ALICE, claims={}, raw=token)


@dataclass(frozen=True)
class DemoState:
    verifier: OneTokenVerifier
    greeting: str


STATE: AppState[DemoState] = AppState("demo")
TokenDep = Annotated[VerifiedToken, Depends(bearer_user(STATE))]
StateDep = Annotated[DemoState, Depends(STATE)]


def demo_app() -> FastAPI:
    app = FastAPI()
    STATE.put(app, DemoState(verifier=OneTokenVerifier(), greeting="hello"))
    install_error_handlers(app)

    @app.get("/me")
    async def me(token: TokenDep, state: StateDep) -> dict[str, str]:
        return {"user": str(token.user_id), "greeting": state.greeting}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=demo_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://demo.test") as c:
        yield c


async def test_a_verified_token_gives_its_user_and_the_state(client: httpx.AsyncClient) -> None:
    response = await client.get("/me", headers={"Authorization": "Bearer  alice-token "})
    assert response.json() == {"user": str(ALICE), "greeting": "hello"}


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer   ", "Basic alice-token", "alice-token"],
    ids=["absent", "empty", "no-token", "blank-token", "other-scheme", "no-scheme"],
)
async def test_no_usable_bearer_token_is_our_401(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.get("/me", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "missing bearer token"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_a_bad_token_is_the_verifiers_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/me", headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401
    assert response.json() == {"detail": "invalid token"}


def test_openapi_documents_http_bearer() -> None:
    schema = demo_app().openapi()
    scheme = schema["components"]["securitySchemes"]["HTTPBearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert schema["paths"]["/me"]["get"]["security"] == [{"HTTPBearer": []}]
