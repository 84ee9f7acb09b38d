"""A turn end to end: stored in order, streamed, with the right history reaching the model."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.agent.tests.conftest import Service, Stack


async def test_json_turn_stores_the_user_message_then_the_complete_reply(
    stack: Stack, agent: Service
) -> None:
    alice = stack.user()
    conv = await stack.new_conversation(alice)

    response = await stack.send(agent, alice, conv, "hello there")

    assert response.status_code == 201, response.text
    body = response.json()
    user, reply = body["user_message"], body["assistant_message"]
    assert (user["role"], user["content"], user["status"]) == ("user", "hello there", "complete")
    assert reply["role"] == "assistant"
    assert reply["status"] == "complete"
    assert reply["content"] == stack.reply_to("hello there", 2)  # system prompt + the user message
    stored = await stack.messages(alice, conv)
    assert [(m["id"], m["content"], m["status"]) for m in stored] == [
        (user["id"], "hello there", "complete"),
        (reply["id"], reply["content"], "complete"),
    ]


async def test_sse_turn_streams_the_reply_and_stores_it(stack: Stack, agent: Service) -> None:
    alice = stack.user()
    conv = await stack.new_conversation(alice)

    events = await stack.sse_turn(agent, alice, conv, "stream please")

    names = [e.event for e in events]
    assert names[:2] == ["user_message", "assistant_started"]
    assert names[-1] == "assistant_message"
    assert set(names[2:-1]) == {"delta"}, names
    started, final = events[1].data, events[-1].data
    assert started["status"] == "in_progress" and started["content"] == ""
    text = "".join(e.data["text"] for e in events if e.event == "delta")
    assert text == stack.reply_to("stream please", 2) == final["content"]
    assert final["id"] == started["id"] and final["status"] == "complete"
    stored = await stack.messages(alice, conv)
    assert [(m["role"], m["content"], m["status"]) for m in stored] == [
        ("user", "stream please", "complete"),
        ("assistant", text, "complete"),
    ]


async def test_the_model_gets_exactly_the_latest_history_limit_messages(
    stack: Stack, agent: Service
) -> None:
    limit = int(agent.env["HISTORY_LIMIT"])
    alice = stack.user()
    conv = await stack.new_conversation(alice)
    for i in range(limit // 2 + 1):  # more stored messages than the limit
        assert (await stack.send(agent, alice, conv, f"message {i}")).status_code == 201

    response = await stack.send(agent, alice, conv, "how many?")

    # HISTORY_LIMIT stored messages (the new user message included) + the system prompt.
    assert response.json()["assistant_message"]["content"] == stack.reply_to("how many?", limit + 1)


async def test_two_agents_alternating_on_one_conversation_share_one_history(
    stack: Stack, agent: Service, agent_responses: Service
) -> None:
    alice = stack.user()
    conv = await stack.new_conversation(alice)

    replies = []
    for i, replica in enumerate([agent, agent_responses, agent]):
        response = await stack.send(replica, alice, conv, f"turn {i}")
        assert response.status_code == 201, response.text
        replies.append(response.json()["assistant_message"]["content"])

    # Each replica saw every earlier turn: 1, 3 and 5 messages plus the system prompt.
    assert replies == [
        stack.reply_to("turn 0", 2),
        stack.reply_to("turn 1", 4),
        stack.reply_to("turn 2", 6),
    ]
    stored = await stack.messages(alice, conv)
    assert [m["content"] for m in stored] == [
        "turn 0",
        replies[0],
        "turn 1",
        replies[1],
        "turn 2",
        replies[2],
    ]


async def test_responses_api_style_streams_a_turn(stack: Stack, agent_responses: Service) -> None:
    alice = stack.user()
    conv = await stack.new_conversation(alice)

    events = await stack.sse_turn(agent_responses, alice, conv, "via responses")

    assert events[-1].event == "assistant_message"
    assert events[-1].data["content"] == stack.reply_to("via responses", 2)
    assert "".join(e.data["text"] for e in events if e.event == "delta") == stack.reply_to(
        "via responses", 2
    )


async def test_a_tool_call_round_trip_is_stored_and_sent_back_later(
    stack: Stack, agent: Service
) -> None:
    alice = stack.user()
    conv = await stack.new_conversation(alice)

    response = await stack.send(agent, alice, conv, "what time? [[tool:get_current_time]]")

    assert response.status_code == 201, response.text
    stored = await stack.messages(alice, conv)
    assert [(m["role"], m["status"]) for m in stored] == [
        ("user", "complete"),
        ("assistant", "complete"),
        ("tool", "complete"),
        ("assistant", "complete"),
    ]
    call = stored[1]["tool_calls"][0]
    assert call["function"]["name"] == "get_current_time"
    assert stored[2]["tool_calls"] == [call]  # the tool message names the call it answers
    assert stored[3]["content"] == f"Tool get_current_time said: {stored[2]['content']}"
    assert response.json()["assistant_message"]["id"] == stored[3]["id"]

    # A later turn sends the whole exchange back: system + 4 stored + the new message.
    later = await stack.send(agent, alice, conv, "thanks")
    assert later.json()["assistant_message"]["content"] == stack.reply_to("thanks", 6)


async def test_a_tool_call_round_trip_works_with_the_responses_api(
    stack: Stack, agent_responses: Service
) -> None:
    alice = stack.user()
    conv = await stack.new_conversation(alice)

    response = await stack.send(agent_responses, alice, conv, "[[tool:get_current_time]]")

    assert response.status_code == 201, response.text
    stored = await stack.messages(alice, conv)
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored[3]["content"] == f"Tool get_current_time said: {stored[2]['content']}"
