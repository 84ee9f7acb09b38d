"""Text Postgres cannot store (NUL) is refused at every door with a 422 / INVALID_ARGUMENT,
and ids, cursors and request ids are matched in full (no trailing newline)."""

from __future__ import annotations

import base64
import uuid
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.limits import IDEMPOTENCY_KEY_MAX_CHARS
from chat_common.logs import clean_request_id

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Api, Rpc, User

BASE = "/api/chat/conversations"
NUL = "\x00"


# ---------------------------------------------------------------------------------- NUL


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("POST", "", {"title": f"a{NUL}b"}), ("PATCH", "/{id}", {"title": f"a{NUL}b"})],
    ids=["create-title", "rename"],
)
async def test_nul_in_a_rest_title_is_422(
    api: Api, alice: User, method: str, path: str, body: dict[str, Any]
) -> None:
    conv = await api.create(alice, title="kept")

    response = await api.request(alice, method, BASE + path.format(id=conv["id"]), json=body)

    assert response.status_code == 422, response.text
    assert [c["title"] for c in (await api.get(alice, BASE)).json()["items"]] == ["kept"]


async def test_nul_in_a_rest_cursor_is_422(api: Api, alice: User) -> None:
    response = await api.get(alice, BASE, params={"cursor": f"abc{NUL}"})

    assert response.status_code == 422, response.text


def grpc_writes_with_nul(conversation_id: str, message_id: str) -> list[tuple[str, Any]]:
    escaped = '{"item": "a\\u0000b"}'
    return [
        ("CreateConversation", pb.CreateConversationRequest(title=f"a{NUL}")),
        ("CreateConversation", pb.CreateConversationRequest(metadata_json=escaped)),
        (
            "UpdateConversation",
            pb.UpdateConversationRequest(conversation_id=conversation_id, title=f"a{NUL}"),
        ),
        ("StartTurn", pb.StartTurnRequest(conversation_id=conversation_id, content=f"a{NUL}")),
        (
            "StartTurn",
            pb.StartTurnRequest(conversation_id=conversation_id, content="a", payload_json=escaped),
        ),
        (
            "StartTurn",
            pb.StartTurnRequest(
                conversation_id=conversation_id, content="a", idempotency_key=f"k{NUL}"
            ),
        ),
        (
            "AppendMessage",
            pb.AppendMessageRequest(
                conversation_id=conversation_id,
                role="assistant",
                content="",
                tool_calls_json=('[{"name": "\\u0000"}]'),
            ),
        ),
        (
            "UpdateMessage",
            pb.UpdateMessageRequest(
                conversation_id=conversation_id, message_id=message_id, content=f"a{NUL}"
            ),
        ),
        ("ListConversations", pb.ListConversationsRequest(cursor=f"abc{NUL}")),
    ]


async def test_nul_in_any_grpc_text_is_invalid_argument_and_changes_nothing(
    rpc: Rpc, alice: User
) -> None:
    conv = await rpc.conversation(alice, title="kept")
    reply = (await rpc.turn(alice, conv.id, "hi")).assistant_message

    for method, request in grpc_writes_with_nul(conv.id, reply.id):
        code = await rpc.error(alice, method, request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (method, request)

    listed = await rpc(alice, "ListConversations", pb.ListConversationsRequest())
    assert [c.title for c in listed.items] == ["kept"]
    assert [(m.content, m.status) for m in await rpc.history(alice, conv.id)] == [
        ("hi", "complete"),
        ("", "in_progress"),
    ]


async def test_an_escaped_backslash_before_u0000_is_ordinary_text(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)

    turn = await rpc.turn(alice, conv.id, "a", payload_json='{"item": "\\\\u0000"}')

    assert "u0000" in turn.user_message.payload_json


# ------------------------------------------------------------------------ full matching


async def test_a_conversation_id_with_a_trailing_newline_is_refused(
    api: Api, rpc: Rpc, alice: User
) -> None:
    conv = await api.create(alice)

    assert (await api.get(alice, f"{BASE}/{conv['id']}%0A")).status_code == 422
    request = pb.GetConversationRequest(conversation_id=conv["id"] + "\n")
    assert await rpc.error(alice, "GetConversation", request) == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_cursor_with_a_trailing_newline_is_refused(api: Api, alice: User) -> None:
    raw = f"{10**15}.{uuid.uuid4().hex}\n".encode()
    cursor = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    response = await api.get(alice, BASE, params={"cursor": cursor})

    assert response.status_code == 422, response.text


def test_a_request_id_with_a_trailing_newline_is_replaced() -> None:
    assert clean_request_id("abc-123") == "abc-123"
    assert clean_request_id("abc-123\n") != "abc-123\n"


async def test_the_idempotency_key_limit_is_the_products_one(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    longest = "k" * IDEMPOTENCY_KEY_MAX_CHARS

    assert not (await rpc.turn(alice, conv.id, "a", idempotency_key=longest)).replayed
    request = pb.StartTurnRequest(
        conversation_id=conv.id, content="b", idempotency_key=longest + "k"
    )
    assert await rpc.error(alice, "StartTurn", request) == grpc.StatusCode.INVALID_ARGUMENT
