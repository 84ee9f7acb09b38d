"""Nothing lost: model failures, timeouts and disconnects all leave a final, stored reply."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chat_testkit.polling import poll_until
from chat_testkit.sse import iter_sse

if TYPE_CHECKING:
    from services.agent.tests.conftest import Service, Stack


async def settled(stack: Stack, token: str, conv: str) -> list[dict[str, Any]]:
    """The stored messages once no reply is `in_progress` any more (bounded wait)."""
    return await poll_until(
        lambda: stack.messages(token, conv),
        lambda messages: all(m["status"] != "in_progress" for m in messages),
        within=5,
        message="a reply stayed in_progress",
    )


async def test_a_model_error_stores_a_failed_reply_and_answers_502(
    stack: Stack, agent: Service
) -> None:
    alice = stack.user()
    conv = await stack.new_conversation(alice)

    response = await stack.send(agent, alice, conv, "break [[fail:500]]")

    assert response.status_code == 502, response.text
    assert "model" in response.json()["detail"]
    assert response.json()["assistant_message"]["status"] == "failed"
    stored = await stack.messages(alice, conv)
    assert [(m["role"], m["status"]) for m in stored] == [
        ("user", "complete"),
        ("assistant", "failed"),
    ]


async def test_a_stalled_model_times_out_into_a_failed_reply_and_504(
    stack: Stack, agent: Service
) -> None:
    alice = stack.user()
    conv = await stack.new_conversation(alice)

    response = await stack.send(agent, alice, conv, "one two [[stall-after:2]]")

    assert response.status_code == 504, response.text
    assert "timed out" in response.json()["detail"]
    reply = response.json()["assistant_message"]
    assert reply["status"] == "failed"
    assert reply["content"] == "You said:"  # the two words that came before the stall
    stored = await stack.messages(alice, conv)
    assert [m["status"] for m in stored] == ["complete", "failed"]
    assert stored[1]["content"] == reply["content"]


async def test_a_broken_stream_over_sse_ends_with_an_error_event_and_keeps_the_partial_text(
    stack: Stack, agent: Service
) -> None:
    alice = stack.user()
    conv = await stack.new_conversation(alice)

    events = await stack.sse_turn(agent, alice, conv, "cut me [[cut-after:3]]")

    names = [e.event for e in events]
    assert names[:2] == ["user_message", "assistant_started"] and names[-1] == "error", names
    assert set(names[2:-1]) == {"delta"}, names
    error = events[-1].data
    assert error["detail"]
    assert error["assistant_message"]["status"] == "failed"
    streamed = "".join(e.data["text"] for e in events if e.event == "delta")
    assert streamed == 'You said: "cut'  # the three words sent before the cut
    assert error["assistant_message"]["content"] == streamed
    assert [m["status"] for m in await stack.messages(alice, conv)] == ["complete", "failed"]


async def test_errors_before_the_first_token_are_retried(stack: Stack, agent: Service) -> None:
    alice = stack.user()
    conv = await stack.new_conversation(alice)

    response = await stack.send(agent, alice, conv, "flaky [[fail-times:1:503]]")

    assert response.status_code == 201, response.text
    assert response.json()["assistant_message"]["status"] == "complete"


async def test_a_client_disconnecting_mid_stream_leaves_the_reply_running_to_complete(
    stack: Stack, agent: Service
) -> None:
    alice = stack.user()
    conv = await stack.new_conversation(alice)

    received = []
    async with stack.stream(agent, alice, conv, "slowly [[slow:50]] [[words:30]]") as response:
        async for event in iter_sse(response):
            if event.event == "delta":
                received.append(event)
            if len(received) == 5:
                break  # leaving the block drops the connection

    stored = await settled(stack, alice, conv)
    assert [m["status"] for m in stored] == ["complete", "complete"]
    assert stored[1]["content"].endswith(" w30"), "the reply stopped when the client left"
