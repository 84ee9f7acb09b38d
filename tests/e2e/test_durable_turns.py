"""Durable turns through the gateway: a REST SSE turn outlives its client and can be
followed again from the stored reply (`…/events`), and an explicit cancel stops a reply
on whichever agent writes it."""

from __future__ import annotations

import time
from typing import Any

from chat_testkit.sse import SseEvent, iter_sse

from tests.helpers.gateway import GatewayClient, User


def reply_path(message: dict[str, Any], action: str) -> str:
    conversation, message_id = message["conversation_id"], message["id"]
    return f"/api/chat/conversations/{conversation}/messages/{message_id}/{action}"


async def started_reply(
    gateway: GatewayClient, user: User, content: str, *, deltas: int
) -> tuple[dict[str, Any], str]:
    """Sends a turn as SSE and drops the connection after `deltas` deltas; returns the
    reply as started and the text received."""
    conversation = await gateway.create_conversation(user)
    reply: dict[str, Any] = {}
    text = ""
    async with gateway.http.stream(
        "POST",
        f"/api/chat/conversations/{conversation['id']}/messages",
        json={"content": content},
        headers={**user.headers, "Accept": "text/event-stream"},
    ) as response:
        seen = 0
        async for event in iter_sse(response):
            if event.event == "assistant_started":
                reply = event.data
            elif event.event == "delta":
                text, seen = text + event.data["text"], seen + 1
                if seen == deltas:
                    break  # leaving the block drops the connection
    return reply, text


async def follow(
    gateway: GatewayClient, user: User, reply: dict[str, Any], last_event_id: int
) -> list[SseEvent]:
    async with gateway.http.stream(
        "GET",
        reply_path(reply, "events"),
        headers={**user.headers, "Last-Event-ID": str(last_event_id)},
    ) as response:
        assert response.status_code == 200, await response.aread()
        return [event async for event in iter_sse(response)]


async def test_a_dropped_sse_turn_completes_and_another_client_resumes_it(
    gateway: GatewayClient,
) -> None:
    user = await gateway.sign_up()
    reply, received = await started_reply(
        gateway, user, "Keep going [[slow:20]] [[words:40]]", deltas=5
    )

    events = await follow(gateway, user, reply, last_event_id=len(received))

    assert [e.event for e in events][-1] == "done"
    done = events[-1].data
    resumed = "".join(e.data["text"] for e in events if e.event == "delta")
    assert done["status"] == "complete"
    assert done["content"].endswith(" w40"), "the reply stopped when its client left"
    assert received + resumed == done["content"], "resuming repeated or lost text"
    # Live, not buffered by the gateway: the rest of the reply took over a second to write.
    deltas = [e for e in events if e.event == "delta"]
    assert len(deltas) >= 5 and events[-1].at - deltas[0].at > 0.5, "the events came at once"
    history = await gateway.messages(user, reply["conversation_id"])
    assert [(m["id"], m["status"]) for m in history][-1] == (reply["id"], "complete")


async def test_cancel_stops_a_streaming_reply_promptly_and_only_its_owner_can(
    gateway: GatewayClient,
) -> None:
    user, other = await gateway.sign_up(), await gateway.sign_up()
    conversation = await gateway.create_conversation(user)
    text, final, reply = "", None, None
    async with gateway.http.stream(
        "POST",
        f"/api/chat/conversations/{conversation['id']}/messages",
        json={"content": "Go on forever [[slow:10]] [[words:300]]"},
        headers={**user.headers, "Accept": "text/event-stream"},
    ) as response:
        async for event in iter_sse(response):
            if event.event == "assistant_started":
                reply = event.data
            elif event.event == "delta":
                text += event.data["text"]
                if len(text.split()) == 6:
                    assert reply is not None
                    cancel = await gateway.http.post(
                        reply_path(reply, "cancel"), headers=user.headers
                    )
                    cancelled_at = time.monotonic()
            elif event.event == "assistant_message":
                final = event.data
    stopped_after = time.monotonic() - cancelled_at

    assert reply is not None and final is not None
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["status"] == "interrupted"
    # The agent stopped the model and its stream soon after (not 300 words at 10/s later).
    assert stopped_after < 5, f"the reply streamed on for {stopped_after:.1f} s"
    assert final["status"] == "interrupted"
    assert final["content"] == cancel.json()["content"]
    assert text.startswith(final["content"]) and not final["content"].endswith(" w300")
    again = await gateway.http.post(reply_path(reply, "cancel"), headers=user.headers)
    assert (again.status_code, again.json()) == (200, cancel.json())
    foreign = await gateway.http.post(reply_path(reply, "cancel"), headers=other.headers)
    foreign_events = await gateway.http.get(reply_path(reply, "events"), headers=other.headers)
    assert (foreign.status_code, foreign_events.status_code) == (404, 404)
    stored = (await gateway.messages(user, conversation["id"]))[-1]
    assert (stored["status"], stored["content"]) == ("interrupted", final["content"])
