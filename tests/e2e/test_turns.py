"""Turns through the gateway: JSON, SSE streamed as generated, request ids across services."""

from __future__ import annotations

import uuid

from devstack import Stack

from tests.helpers.gateway import GatewayClient
from tests.helpers.logs import log_line


async def test_a_json_turn_stores_both_messages(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    conversation = await gateway.create_conversation(user)
    response = await gateway.send(user, conversation["id"], "Hello!")
    assert response.status_code == 201, response.text
    reply = response.json()["assistant_message"]
    assert reply["content"] == 'You said: "Hello!". I received 2 messages.'
    history = await gateway.messages(user, conversation["id"])
    assert [(m["role"], m["status"]) for m in history] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ]


async def test_sse_chunks_arrive_before_the_reply_is_finished(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    conversation = await gateway.create_conversation(user)
    # 10 words at 10 tokens/s: about a second of streaming.
    stream = await gateway.stream(user, conversation["id"], "stream this [[slow:10]]")
    assert stream.status_code == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    names = [e.event for e in stream.events]
    assert names[:2] == ["user_message", "assistant_started"]
    assert names[-1] == "assistant_message"
    deltas = stream.named("delta")
    assert len(deltas) >= 5
    finished = stream.events[-1].at
    # Buffered somewhere, every chunk would arrive at once, at the end.
    assert finished - deltas[0].at > 0.4, "the first delta arrived with the last one"
    assert "".join(d.data["text"] for d in deltas) == stream.events[-1].data["content"]


async def _traced_turn(gateway: GatewayClient, *, foreign: bool = False) -> str:
    """A turn sent with its own request id (`foreign`: into another user's conversation)."""
    user = await gateway.sign_up()
    owner = await gateway.sign_up() if foreign else user
    conversation = await gateway.create_conversation(owner)
    request_id = f"e2e-{uuid.uuid4().hex}"
    headers = {"X-Request-ID": request_id}
    response = await gateway.send(user, conversation["id"], "trace me", headers)
    assert response.status_code == (404 if foreign else 201)
    assert response.headers["x-request-id"] == request_id
    return request_id


async def test_the_request_id_is_echoed_and_logged_by_every_process_of_the_turn(
    gateway: GatewayClient, stack: Stack
) -> None:
    request_id = await _traced_turn(gateway)
    for process in ("gateway", "auth", "agent"):
        await log_line(stack, process, request_id)
    # Conversations logs its successful calls at DEBUG only; a refused one (NOT_FOUND) at INFO.
    refused = await _traced_turn(gateway, foreign=True)
    await log_line(stack, "conversations", refused)


async def test_a_request_id_is_generated_when_absent(gateway: GatewayClient) -> None:
    first = await gateway.http.get("/healthz")
    second = await gateway.http.get("/healthz")
    assert len(first.headers["x-request-id"]) >= 16
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_an_unsafe_request_id_is_replaced(gateway: GatewayClient) -> None:
    response = await gateway.http.get("/healthz", headers={"X-Request-ID": "bad id\\with spaces"})
    assert response.headers["x-request-id"] != "bad id\\with spaces"


async def test_a_stream_tells_proxies_in_front_not_to_buffer_it(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    conversation = await gateway.create_conversation(user)
    stream = await gateway.stream(user, conversation["id"], "hi")
    assert stream.headers["x-accel-buffering"] == "no"
    assert stream.headers.get("content-encoding") is None


async def test_history_paging_parameters_pass_through_the_gateway(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    conversation = await gateway.create_conversation(user)
    assert (await gateway.send(user, conversation["id"], "one")).status_code == 201
    response = await gateway.http.get(
        f"/api/chat/conversations/{conversation['id']}/messages?limit=1", headers=user.headers
    )
    page = response.json()
    assert [m["role"] for m in page["items"]] == ["assistant"]
    assert page["has_more"] is True
