"""Tenant isolation: another user's conversation is a 404 / NOT_FOUND on every route and
every RPC, never a 403, never its data, and the attempt changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from chat.conversations.v1 import conversations_pb2 as pb

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Api, Rpc, User

BASE = "/api/chat/conversations"

# (method, path, json body) with {c} = alice's conversation id, {m} = one of its messages.
REST_ROUTES = [
    ("GET", BASE + "/{c}", None),
    ("PATCH", BASE + "/{c}", {"title": "stolen"}),
    ("DELETE", BASE + "/{c}", None),
    ("GET", BASE + "/{c}/messages", None),
    ("GET", BASE + "/{c}/messages?before={m}", None),
    ("GET", BASE + "/{c}/messages?after={m}", None),
    ("GET", BASE + "/{c}/messages?around={m}", None),
]

RequestFor = Callable[[str, str], Any]
RPCS: list[tuple[str, RequestFor]] = [
    ("GetConversation", lambda c, m: pb.GetConversationRequest(conversation_id=c)),
    ("UpdateConversation", lambda c, m: pb.UpdateConversationRequest(conversation_id=c, title="x")),
    ("DeleteConversation", lambda c, m: pb.DeleteConversationRequest(conversation_id=c)),
    (
        "AppendMessage",
        lambda c, m: pb.AppendMessageRequest(conversation_id=c, role="user", content="hi"),
    ),
    ("StartTurn", lambda c, m: pb.StartTurnRequest(conversation_id=c, content="hi")),
    (
        "UpdateMessage",
        lambda c, m: pb.UpdateMessageRequest(conversation_id=c, message_id=m, content="changed"),
    ),
    ("GetMessage", lambda c, m: pb.GetMessageRequest(conversation_id=c, message_id=m)),
    ("DeleteMessage", lambda c, m: pb.DeleteMessageRequest(conversation_id=c, message_id=m)),
    ("ListMessages", lambda c, m: pb.ListMessagesRequest(conversation_id=c)),
    ("ListMessages", lambda c, m: pb.ListMessagesRequest(conversation_id=c, before=m)),
]


async def _alice_state(api: Api, alice: User, conversation_id: str) -> tuple[Any, Any]:
    return (
        await api.conversation(alice, conversation_id),
        (await api.messages(alice, conversation_id))["items"],
    )


@pytest.mark.parametrize(("method", "path", "body"), REST_ROUTES)
async def test_another_users_conversation_is_404_on_rest(
    api: Api, rpc: Rpc, alice: User, bob: User, method: str, path: str, body: Any
) -> None:
    conv = await api.create(alice, title="private")
    message = await rpc.append(alice, conv["id"], "secret")
    before = await _alice_state(api, alice, conv["id"])

    url = path.format(c=conv["id"], m=message.id)
    response = await api.request(bob, method, url, json=body)

    assert response.status_code == 404, response.text
    assert "secret" not in response.text and "private" not in response.text
    assert await _alice_state(api, alice, conv["id"]) == before


async def test_another_users_conversations_are_not_listed(
    api: Api, rpc: Rpc, alice: User, bob: User
) -> None:
    await api.create(alice, title="private")

    assert await api.all_conversation_ids(bob) == []
    response = await rpc(bob, "ListConversations", pb.ListConversationsRequest())
    assert list(response.items) == []


@pytest.mark.parametrize(
    ("method", "request_for"), RPCS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(RPCS)]
)
async def test_another_users_conversation_is_not_found_over_grpc(
    api: Api, rpc: Rpc, alice: User, bob: User, method: str, request_for: RequestFor
) -> None:
    conv = await api.create(alice, title="private")
    message = await rpc.append(alice, conv["id"], "secret")
    before = await _alice_state(api, alice, conv["id"])

    code = await rpc.error(bob, method, request_for(conv["id"], message.id))

    assert code == grpc.StatusCode.NOT_FOUND
    assert await _alice_state(api, alice, conv["id"]) == before


@pytest.mark.parametrize("method", ["GetMessage", "UpdateMessage", "DeleteMessage"])
async def test_another_users_message_is_not_found_through_ones_own_conversation(
    api: Api, rpc: Rpc, alice: User, bob: User, method: str
) -> None:
    alices = await api.create(alice)
    message = await rpc.append(alice, alices["id"], "secret")
    bobs = await api.create(bob)
    request = getattr(pb, f"{method}Request")(conversation_id=bobs["id"], message_id=message.id)
    if method == "UpdateMessage":
        request.content = "changed"

    assert await rpc.error(bob, method, request) == grpc.StatusCode.NOT_FOUND
    assert (await api.messages(alice, alices["id"]))["items"][0]["content"] == "secret"


# A cursor names a point of the conversation (422 when it is none); `around` names the
# message to show (404 when the conversation has none such).
@pytest.mark.parametrize(("anchor", "status"), [("before", 422), ("after", 422), ("around", 404)])
async def test_another_users_message_is_no_history_anchor(
    api: Api, rpc: Rpc, alice: User, bob: User, anchor: str, status: int
) -> None:
    message = await rpc.append(alice, (await api.create(alice))["id"], "secret")
    bobs = await api.create(bob)

    response = await api.get(bob, f"{BASE}/{bobs['id']}/messages", params={anchor: message.id})

    assert response.status_code == status, response.text
    assert "secret" not in response.text


async def test_creating_with_another_users_id_changes_nothing(
    api: Api, rpc: Rpc, alice: User, bob: User
) -> None:
    conv = await api.create(alice, title="private")

    code = await rpc.error(bob, "CreateConversation", pb.CreateConversationRequest(id=conv["id"]))

    assert code == grpc.StatusCode.ALREADY_EXISTS
    assert (await api.conversation(alice, conv["id"]))["title"] == "private"
    assert await api.all_conversation_ids(bob) == []
