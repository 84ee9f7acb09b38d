"""Bad input gets a clear 4xx (INVALID_ARGUMENT / UNAUTHENTICATED over gRPC) and writes
nothing: content limits, unknown fields, malformed ids, bad cursors, bad tokens."""

from __future__ import annotations

import base64
import uuid
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from chat.conversations.v1 import conversations_pb2 as pb
from chat_testkit import tokens as testkit_tokens

if TYPE_CHECKING:
    from chat_testkit.tokens import TestKeys

    from services.conversations.tests.conftest import Api, Rpc, User

BASE = "/api/chat/conversations"
MAX_CHARS = 10_000
SOME_ID = "3f2b8c1e-0d6a-4a51-8a3e-9a1f2b3c4d5e"


# ---------------------------------------------------------------------------------- REST


@pytest.mark.parametrize(
    "body",
    [{"title": "x" * 201}, {"title": ""}, {"title": 5}, {"title": "ok", "owner": "me"}, [1]],
    ids=["too-long", "empty", "not-a-string", "unknown-field", "not-an-object"],
)
async def test_a_bad_create_body_is_422_and_creates_nothing(
    api: Api, alice: User, body: Any
) -> None:
    response = await api.request(alice, "POST", BASE, json=body)

    assert response.status_code == 422, response.text
    assert "detail" in response.json()
    assert await api.all_conversation_ids(alice) == []


@pytest.mark.parametrize(
    "body",
    [{"title": "x" * 201}, {}, {"title": "ok", "extra": 1}],
    ids=["too-long", "missing-title", "unknown-field"],
)
async def test_a_bad_rename_is_422_and_changes_nothing(api: Api, alice: User, body: Any) -> None:
    conv = await api.create(alice, title="kept")

    response = await api.request(alice, "PATCH", f"{BASE}/{conv['id']}", json=body)

    assert response.status_code == 422, response.text
    assert await api.conversation(alice, conv["id"]) == conv


async def test_a_title_of_200_chars_is_accepted(api: Api, alice: User) -> None:
    assert (await api.create(alice, title="x" * 200))["title"] == "x" * 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", BASE + "/not-a-uuid"),
        ("PATCH", BASE + "/not-a-uuid"),
        ("DELETE", BASE + "/123"),
        ("GET", BASE + "/not-a-uuid/messages"),
        ("GET", BASE + "/{c}/messages?before=nope"),
        ("GET", BASE + "/{c}/messages?after=nope"),
    ],
)
async def test_a_malformed_id_is_422(api: Api, alice: User, method: str, path: str) -> None:
    conv = await api.create(alice)

    response = await api.request(alice, method, path.format(c=conv["id"]), json={"title": "t"})

    assert response.status_code == 422, response.text


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "x",
        _b64(b"not a cursor"),
        _b64(b"123.zz"),
        _b64(b"99999999999999999999." + b"a" * 32),
        "A" * 101,
    ],
)
async def test_a_bad_cursor_is_422(api: Api, alice: User, cursor: str) -> None:
    response = await api.get(alice, BASE, params={"cursor": cursor})

    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (BASE, {"limit": 0}),
        (BASE, {"limit": 101}),
        (BASE + "/{c}/messages", {"limit": 0}),
        (BASE + "/{c}/messages", {"limit": 101}),
        (BASE + "/{c}/messages", {"before": SOME_ID, "after": SOME_ID}),
        (BASE + "/{c}/messages", {"before": SOME_ID}),
    ],
    ids=["list-0", "list-101", "messages-0", "messages-101", "before-and-after", "unknown-anchor"],
)
async def test_bad_paging_parameters_are_422(
    api: Api, alice: User, path: str, params: dict[str, Any]
) -> None:
    conv = await api.create(alice)

    response = await api.get(alice, path.format(c=conv["id"]), params=params)

    assert response.status_code == 422, response.text


# --------------------------------------------------------------------------------- tokens

REST_ROUTES = [
    ("POST", BASE),
    ("GET", BASE),
    ("GET", BASE + "/" + SOME_ID),
    ("PATCH", BASE + "/" + SOME_ID),
    ("DELETE", BASE + "/" + SOME_ID),
    ("GET", BASE + "/" + SOME_ID + "/messages"),
]


def bad_tokens(keys: TestKeys) -> dict[str, str | None]:
    user = uuid.uuid4()
    return {
        "missing": None,
        "expired": keys.token(user, ttl=-120),
        "forged": testkit_tokens.TestKeys(kid=keys.kid).token(user),  # same kid, other key
        "wrong-audience": keys.token(user, aud="someone-else"),
        "not-a-jwt": "abc.def.ghi",
    }


@pytest.mark.parametrize("kind", ["missing", "expired", "forged", "wrong-audience", "not-a-jwt"])
@pytest.mark.parametrize(("method", "path"), REST_ROUTES)
async def test_rest_without_a_valid_token_is_401(
    api: Api, test_keys: TestKeys, kind: str, method: str, path: str
) -> None:
    token = bad_tokens(test_keys)[kind]
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    response = await api.request(None, method, path, headers=headers, json={"title": "t"})

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert set(response.json()) == {"detail"}


RPC_REQUESTS: dict[str, Any] = {
    "CreateConversation": pb.CreateConversationRequest(),
    "GetConversation": pb.GetConversationRequest(conversation_id=SOME_ID),
    "ListConversations": pb.ListConversationsRequest(),
    "UpdateConversation": pb.UpdateConversationRequest(conversation_id=SOME_ID, title="t"),
    "DeleteConversation": pb.DeleteConversationRequest(conversation_id=SOME_ID),
    "AppendMessage": pb.AppendMessageRequest(conversation_id=SOME_ID, role="user", content="x"),
    "StartTurn": pb.StartTurnRequest(conversation_id=SOME_ID, content="x"),
    "UpdateMessage": pb.UpdateMessageRequest(conversation_id=SOME_ID, message_id=SOME_ID),
    "GetMessage": pb.GetMessageRequest(conversation_id=SOME_ID, message_id=SOME_ID),
    "DeleteMessage": pb.DeleteMessageRequest(conversation_id=SOME_ID, message_id=SOME_ID),
    "ListMessages": pb.ListMessagesRequest(conversation_id=SOME_ID),
}


@pytest.mark.parametrize("kind", ["missing", "expired", "forged"])
@pytest.mark.parametrize("method", sorted(RPC_REQUESTS))
async def test_grpc_without_a_valid_token_is_unauthenticated(
    rpc: Rpc, test_keys: TestKeys, kind: str, method: str
) -> None:
    token = bad_tokens(test_keys)[kind]
    metadata = (("authorization", f"Bearer {token}"),) if token else ()

    try:
        await getattr(rpc.stub, method)(RPC_REQUESTS[method], metadata=metadata, timeout=10)
    except grpc.aio.AioRpcError as exc:
        assert exc.code() == grpc.StatusCode.UNAUTHENTICATED, exc.details()
    else:
        raise AssertionError(f"{method} answered without a valid token")


# ----------------------------------------------------------------------------------- gRPC


@pytest.mark.parametrize(
    "content",
    ["", "   \n", "x" * (MAX_CHARS + 1), "nul\x00char"],
    ids=["empty", "blank", "long", "nul"],
)
async def test_bad_user_content_is_invalid_and_stores_nothing(
    api: Api, rpc: Rpc, alice: User, content: str
) -> None:
    conv = await rpc.conversation(alice)

    turn = pb.StartTurnRequest(conversation_id=conv.id, content=content)
    append = pb.AppendMessageRequest(conversation_id=conv.id, role="user", content=content)

    assert await rpc.error(alice, "StartTurn", turn) == grpc.StatusCode.INVALID_ARGUMENT
    assert await rpc.error(alice, "AppendMessage", append) == grpc.StatusCode.INVALID_ARGUMENT
    assert await rpc.history(alice, conv.id) == []
    assert (await api.conversation(alice, conv.id))["title"] is None


async def test_user_content_of_exactly_the_limit_is_accepted(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)

    turn = await rpc.turn(alice, conv.id, "x" * MAX_CHARS)

    assert len(turn.user_message.content) == MAX_CHARS


async def test_a_user_message_cannot_be_updated_past_the_limit(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    user_message = await rpc.append(alice, conv.id, "short")
    request = pb.UpdateMessageRequest(
        conversation_id=conv.id, message_id=user_message.id, content="x" * (MAX_CHARS + 1)
    )

    assert await rpc.error(alice, "UpdateMessage", request) == grpc.StatusCode.INVALID_ARGUMENT
    assert [m.content for m in await rpc.history(alice, conv.id)] == ["short"]


@pytest.mark.parametrize(
    ("method", "request_for"),
    [
        ("GetConversation", lambda c: pb.GetConversationRequest(conversation_id="nope")),
        ("CreateConversation", lambda c: pb.CreateConversationRequest(id="nope")),
        ("CreateConversation", lambda c: pb.CreateConversationRequest(title="x" * 201)),
        ("CreateConversation", lambda c: pb.CreateConversationRequest(metadata_json="[1]")),
        ("ListConversations", lambda c: pb.ListConversationsRequest(cursor="bad")),
        ("ListConversations", lambda c: pb.ListConversationsRequest(limit=101)),
        ("ListMessages", lambda c: pb.ListMessagesRequest(conversation_id=c, before="nope")),
        (
            "AppendMessage",
            lambda c: pb.AppendMessageRequest(conversation_id=c, role="boss", content="x"),
        ),
        (
            "AppendMessage",
            lambda c: pb.AppendMessageRequest(
                conversation_id=c, role="tool", content="x", status="done"
            ),
        ),
        (
            "AppendMessage",
            lambda c: pb.AppendMessageRequest(
                conversation_id=c, role="assistant", content="x", tool_calls_json="{not json"
            ),
        ),
        (
            "AppendMessage",
            lambda c: pb.AppendMessageRequest(
                conversation_id=c, role="assistant", content="x", tool_calls_json='{"a": 1}'
            ),
        ),
        (
            "AppendMessage",
            lambda c: pb.AppendMessageRequest(
                conversation_id=c, role="assistant", content="x", payload_json="[]"
            ),
        ),
        (
            "StartTurn",
            lambda c: pb.StartTurnRequest(
                conversation_id=c, content="x", idempotency_key="k" * 201
            ),
        ),
        ("UpdateMessage", lambda c: pb.UpdateMessageRequest(conversation_id=c, message_id="nope")),
    ],
)
async def test_bad_grpc_arguments_are_invalid_and_store_nothing(
    api: Api, rpc: Rpc, alice: User, method: str, request_for: Any
) -> None:
    conv = await rpc.conversation(alice)

    code = await rpc.error(alice, method, request_for(conv.id))

    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert await rpc.history(alice, conv.id) == []
    assert await api.all_conversation_ids(alice) == [conv.id]
