"""A REST vote on a reply: `PUT …/{id}/messages/{message_id}/feedback` sets or clears it
with the same write as ChatKit's SetFeedback; only the owner's assistant messages take one."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import httpx
import orjson

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Api, Rpc, User


async def put_vote(
    api: Api, user: User, conversation_id: str, message_id: str, body: Any
) -> httpx.Response:
    path = f"/api/chat/conversations/{conversation_id}/messages/{message_id}/feedback"
    return await api.request(user, "PUT", path, json=body)


async def counts(api: Api, user: User, conversation_id: str) -> dict[str, int]:
    response = await api.get(user, f"/api/chat/conversations/{conversation_id}/feedback")
    assert response.status_code == 200, response.text
    result: dict[str, int] = response.json()
    return result


async def test_a_vote_is_the_message_and_counts_and_null_clears_it(
    rpc: Rpc, api: Api, alice: User
) -> None:
    conv = await rpc.conversation(alice)
    reply = await rpc.append(alice, conv.id, "answer", role="assistant")

    voted = await put_vote(api, alice, conv.id, reply.id, {"feedback": "positive"})

    assert voted.status_code == 200, voted.text
    assert voted.json()["id"] == reply.id and voted.json()["feedback"] == "positive"
    assert [m["feedback"] for m in (await api.messages(alice, conv.id))["items"]] == ["positive"]
    assert await counts(api, alice, conv.id) == {"positive": 1, "negative": 0}

    changed = await put_vote(api, alice, conv.id, reply.id, {"feedback": "negative"})
    assert changed.json()["feedback"] == "negative"
    assert await counts(api, alice, conv.id) == {"positive": 0, "negative": 1}

    cleared = await put_vote(api, alice, conv.id, reply.id, {"feedback": None})
    assert cleared.status_code == 200 and cleared.json()["feedback"] is None
    assert await counts(api, alice, conv.id) == {"positive": 0, "negative": 0}


async def test_a_rest_vote_is_what_chatkit_reads_from_the_payload(
    rpc: Rpc, api: Api, alice: User
) -> None:
    conv = await rpc.conversation(alice)
    item = '{"item": {"id": "x", "type": "assistant_message"}}'
    reply = await rpc.append(alice, conv.id, "answer", role="assistant", payload_json=item)

    await put_vote(api, alice, conv.id, reply.id, {"feedback": "negative"})

    payload = orjson.loads((await rpc.stored(alice, reply)).payload_json)
    assert payload["feedback"] == "negative" and payload["item"]["id"] == "x"


async def test_only_an_assistant_message_takes_a_vote(rpc: Rpc, api: Api, alice: User) -> None:
    conv = await rpc.conversation(alice)
    question = await rpc.append(alice, conv.id, "question")

    refused = await put_vote(api, alice, conv.id, question.id, {"feedback": "positive"})

    assert refused.status_code == 422, refused.text
    assert "assistant" in refused.json()["detail"]
    assert [m["feedback"] for m in (await api.messages(alice, conv.id))["items"]] == [None]


async def test_another_users_or_an_unknown_message_is_not_found(
    rpc: Rpc, api: Api, alice: User, bob: User
) -> None:
    conv = await rpc.conversation(alice)
    reply = await rpc.append(alice, conv.id, "answer", role="assistant")
    bobs = await rpc.conversation(bob)

    assert (
        await put_vote(api, bob, conv.id, reply.id, {"feedback": "negative"})
    ).status_code == 404
    # Bob's own conversation id with Alice's message: still not his.
    assert (
        await put_vote(api, bob, bobs.id, reply.id, {"feedback": "negative"})
    ).status_code == 404
    unknown = str(uuid.uuid4())
    assert (
        await put_vote(api, alice, conv.id, unknown, {"feedback": "positive"})
    ).status_code == 404
    assert (await counts(api, alice, conv.id)) == {"positive": 0, "negative": 0}


async def test_bad_votes_are_refused_and_change_nothing(rpc: Rpc, api: Api, alice: User) -> None:
    conv = await rpc.conversation(alice)
    reply = await rpc.append(alice, conv.id, "answer", role="assistant")
    await put_vote(api, alice, conv.id, reply.id, {"feedback": "positive"})

    for body in ({}, {"feedback": "meh"}, {"feedback": ""}, {"feedback": "positive", "x": 1}):
        response = await put_vote(api, alice, conv.id, reply.id, body)
        assert response.status_code == 422, f"{body}: {response.status_code} {response.text}"
    malformed = await put_vote(api, alice, conv.id, "not-a-uuid", {"feedback": "negative"})
    assert malformed.status_code == 422

    assert await counts(api, alice, conv.id) == {"positive": 1, "negative": 0}
