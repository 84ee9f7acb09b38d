"""In process: stored messages -> what the model is sent. A tool exchange cut in half by
the history window is never sent half, and empty replies are left out."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from agent.history import model_messages
from chat.conversations.v1 import conversations_pb2 as pb


def message(
    role: str, content: str = "", *, calls: Sequence[str] = (), status: str = "complete"
) -> pb.Message:
    tool_calls = [
        {"id": c, "type": "function", "function": {"name": "clock", "arguments": "{}"}}
        for c in calls
    ]
    return pb.Message(
        role=role,
        content=content,
        status=status,
        tool_calls_json=orjson.dumps(tool_calls).decode() if calls else "",
    )


def result(call_id: str, content: str = "noon") -> pb.Message:
    return message("tool", content, calls=[call_id])


def test_the_system_prompt_comes_first() -> None:
    sent = model_messages("Be brief.", [message("user", "hi")])

    assert sent == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]


def test_no_system_message_without_a_prompt() -> None:
    assert model_messages("", [message("user", "hi")]) == [{"role": "user", "content": "hi"}]


def test_a_whole_tool_exchange_is_sent_as_a_call_and_its_result() -> None:
    sent = model_messages(
        "", [message("user", "time?"), message("assistant", calls=["c1"]), result("c1")]
    )

    call, answer = sent[1], sent[2]
    assert call["role"] == "assistant" and call["content"] is None
    assert [c["id"] for c in call["tool_calls"]] == ["c1"]
    assert answer == {"role": "tool", "tool_call_id": "c1", "content": "noon"}


def test_a_result_whose_call_fell_out_of_the_window_is_left_out() -> None:
    sent = model_messages(
        "", [result("c1"), message("assistant", "It is noon."), message("user", "thanks")]
    )

    assert [m["role"] for m in sent] == ["assistant", "user"]


def test_a_call_whose_result_fell_out_of_the_window_is_sent_as_its_text_only() -> None:
    sent = model_messages(
        "", [message("user", "time?"), message("assistant", "Let me look.", calls=["c1"])]
    )

    assert sent[-1] == {"role": "assistant", "content": "Let me look."}


def test_a_call_with_no_text_and_no_result_is_left_out() -> None:
    sent = model_messages("", [message("user", "time?"), message("assistant", calls=["c1"])])

    assert [m["role"] for m in sent] == ["user"]


def test_a_call_with_only_some_results_is_not_sent_as_a_call() -> None:
    stored = [message("assistant", calls=["c1", "c2"]), result("c1"), message("user", "and?")]

    assert [m["role"] for m in model_messages("", stored)] == ["user"]


def test_an_empty_reply_is_left_out() -> None:
    stored = [
        message("user", "hi"),
        message("assistant", status="failed"),
        message("user", "again?"),
    ]

    assert [m["content"] for m in model_messages("", stored)] == ["hi", "again?"]
