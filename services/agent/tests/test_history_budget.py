"""The history sent to the model stays under HISTORY_MAX_CHARS as well as HISTORY_LIMIT."""

from __future__ import annotations

from agent.history import model_messages
from chat.conversations.v1 import conversations_pb2 as pb


def message(role: str, content: str) -> pb.Message:
    return pb.Message(role=role, content=content, status="complete")


def test_the_oldest_messages_go_first_when_the_history_is_too_long() -> None:
    stored = [
        message("user", "a" * 600),
        message("assistant", "b" * 600),
        message("user", "c" * 300),
        message("assistant", "d" * 300),
        message("user", "latest"),
    ]

    sent = model_messages("", stored, max_chars=1000)

    assert [m["content"][0] for m in sent] == ["c", "d", "l"]


def test_the_newest_message_is_sent_even_when_it_alone_is_over_the_budget() -> None:
    sent = model_messages(
        "sys", [message("user", "x" * 50), message("user", "y" * 500)], max_chars=100
    )

    assert [m["role"] for m in sent] == ["system", "user"]
    assert sent[-1]["content"] == "y" * 500


def test_a_tool_result_whose_call_fell_out_of_the_budget_is_not_sent() -> None:
    call = pb.Message(
        role="assistant",
        content="",
        status="complete",
        tool_calls_json='[{"id":"c1","type":"function","function":{"name":"t","arguments":"'
        + "x" * 900
        + '"}}]',
    )
    result = pb.Message(
        role="tool", content="42", status="complete", tool_calls_json='[{"id":"c1"}]'
    )

    sent = model_messages("", [call, result, message("user", "next")], max_chars=100)

    assert [m["role"] for m in sent] == ["user"]
