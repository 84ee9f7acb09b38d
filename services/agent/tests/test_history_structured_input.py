"""ChatKit structured input in the model's history: questions and answers as the user's
text once answered (a skipped one says so), nothing while it still waits."""

from __future__ import annotations

import orjson
from agent.history import model_messages
from chat.conversations.v1 import conversations_pb2 as pb


def asked(status: str, *answers: dict[str, object]) -> pb.Message:
    inputs = [
        {"id": f"q{n}", "type": "freeform", "question": f"Question {n}?", "answer": answer}
        for n, answer in enumerate(answers)
    ]
    item = {"type": "structured_input", "status": status, "inputs": inputs}
    return pb.Message(role="assistant", payload_json=orjson.dumps({"item": item}).decode())


def test_answered_questions_reach_the_model_as_the_users_text() -> None:
    message = asked("answered", {"values": ["Oslo", "Rome"]}, {"values": [], "skipped": True})
    assert model_messages("", [message]) == [
        {
            "role": "user",
            "content": "The user answered these questions:\n"
            "- Question 0?: Oslo, Rome\n- Question 1?: (skipped)",
        }
    ]


def test_unanswered_questions_are_left_out() -> None:
    assert model_messages("", [asked("pending", {})]) == []
