"""Stored JSON is bounded for every writer (MESSAGE_PAYLOAD_MAX_BYTES for payloads and
metadata, a fixed cap for tool calls), and reads that show no payload never read it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import grpc
import orjson
import psycopg
import pytest
from chat.conversations.v1 import conversations_pb2 as pb
from conversations import sql, store
from conversations.checks import DEFAULT_PAYLOAD_MAX_BYTES, TOOL_CALLS_MAX_BYTES

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Api, Conn, Rpc, User

CAP = DEFAULT_PAYLOAD_MAX_BYTES


def payload_of(size: int) -> str:
    """A JSON object of exactly `size` UTF-8 bytes (multi-byte text: bytes, not chars)."""
    frame = len(b'{"item":""}')
    body = "é" * ((size - frame) // 2) + "x" * ((size - frame) % 2)
    text = orjson.dumps({"item": body}).decode()
    assert len(text.encode()) == size
    return text


async def test_a_payload_at_the_cap_is_stored(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)

    turn = await rpc.turn(alice, conv.id, "hi", payload_json=payload_of(CAP))

    assert len(turn.user_message.payload_json.encode()) >= CAP - 16  # jsonb may respace


@pytest.mark.parametrize("writer", ["StartTurn", "AppendMessage", "UpdateMessage"])
async def test_a_payload_over_the_cap_is_refused_and_stores_nothing(
    rpc: Rpc, alice: User, writer: str
) -> None:
    conv = await rpc.conversation(alice)
    reply = (await rpc.turn(alice, conv.id, "hi")).assistant_message
    too_big = payload_of(CAP + 1)
    request: Any = {
        "StartTurn": pb.StartTurnRequest(
            conversation_id=conv.id, content="x", payload_json=too_big
        ),
        "AppendMessage": pb.AppendMessageRequest(
            conversation_id=conv.id, role="user", content="x", payload_json=too_big
        ),
        "UpdateMessage": pb.UpdateMessageRequest(
            conversation_id=conv.id, message_id=reply.id, payload_json=too_big
        ),
    }[writer]

    assert await rpc.error(alice, writer, request) == grpc.StatusCode.INVALID_ARGUMENT
    history = await rpc.history(alice, conv.id)
    assert [(m.content, m.payload_json) for m in history] == [("hi", ""), ("", "")]


async def test_metadata_over_the_cap_is_refused(rpc: Rpc, alice: User) -> None:
    request = pb.CreateConversationRequest(metadata_json=payload_of(CAP + 1))

    assert await rpc.error(alice, "CreateConversation", request) == grpc.StatusCode.INVALID_ARGUMENT


async def test_tool_calls_over_their_cap_are_refused(rpc: Rpc, alice: User) -> None:
    conv = await rpc.conversation(alice)
    calls = orjson.dumps([{"arguments": "a" * TOOL_CALLS_MAX_BYTES}]).decode()
    request = pb.AppendMessageRequest(
        conversation_id=conv.id, role="assistant", content="", tool_calls_json=calls
    )

    assert await rpc.error(alice, "AppendMessage", request) == grpc.StatusCode.INVALID_ARGUMENT
    assert await rpc.history(alice, conv.id) == []


async def test_rest_has_no_way_to_write_a_payload(api: Api, alice: User) -> None:
    body = {"title": "t", "payload": {"item": "x" * 100}}

    response = await api.request(alice, "POST", "/api/chat/conversations", json=body)

    assert response.status_code == 422, response.text


async def test_rest_message_lists_show_the_same_fields_without_payload(
    api: Api, rpc: Rpc, alice: User
) -> None:
    conv = await rpc.conversation(alice)
    await rpc.turn(alice, conv.id, "hello", payload_json=payload_of(1000))

    items = (await api.messages(alice, conv.id))["items"]

    assert [set(m) for m in items] == [
        {"id", "conversation_id", "role", "content", "tool_calls", "status", "created_at",
         "feedback"}
    ] * 2  # fmt: skip
    assert items[0]["content"] == "hello"


@pytest.mark.parametrize("window", ["latest", "oldest", "before", "after"])
async def test_a_list_without_payload_never_reads_the_column(
    conn: Conn, rpc: Rpc, alice: User, window: str
) -> None:
    """Run as a role that may read every column of messages but payload: the statement
    REST uses works, the one with payload is refused."""
    conv = await rpc.conversation(alice)
    turn = await rpc.turn(alice, conv.id, "hello", payload_json=payload_of(1000))
    anchor = {"before": turn.assistant_message.id, "after": turn.user_message.id}.get(window)
    role = f"no_payload_{uuid.uuid4().hex[:12]}"
    columns = "id, seq, conversation_id, user_id, role, content, status, tool_calls,"
    columns += " input_tokens, output_tokens, idempotency_key, reply_to, created_at, updated_at,"
    columns += " feedback"
    await conn.execute(f"CREATE ROLE {role} NOLOGIN")
    try:
        await conn.execute(f"GRANT SELECT ON conversations TO {role}")
        await conn.execute(f"GRANT SELECT ({columns}) ON messages TO {role}")
        await conn.execute(f"SET ROLE {role}")
        kwargs: dict[str, Any] = {
            "user_id": alice.id,
            "conversation_id": uuid.UUID(conv.id),
            "oldest_first": window == "oldest",
        }
        if anchor:
            kwargs[window] = uuid.UUID(anchor)
        page = await store.list_messages(conn, with_payload=False, **kwargs)
        assert page.messages and all(m.payload_json is None for m in page.messages)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await store.list_messages(conn, with_payload=True, **kwargs)
    finally:
        await conn.execute("RESET ROLE")
        await conn.execute(f"DROP OWNED BY {role}")
        await conn.execute(f"DROP ROLE {role}")


def test_every_list_statement_has_a_payload_free_twin() -> None:
    for (window, with_payload), statement in sql.LIST_MESSAGES.items():
        assert ("payload" in statement) == with_payload, (window, with_payload)
