"""In process: a ChatKit error event offers a retry only when sending the same request
again may succeed (a budget refusal, a failure on our side), never after a refusal of
the input itself (an oversized payload, refused by conversations as INVALID_ARGUMENT)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from chat_common.errors import InvalidInput, RateLimited
from chatkit.types import ErrorEvent, ThreadStreamEvent

from services.agent.tests.fake_model import ScriptedModel, says
from services.agent.tests.test_chatkit_server import ChatKit, add

TOO_LARGE = InvalidInput("the payload is larger than 65536 bytes")
OVER_BUDGET = RateLimited("too many messages; slow down", retry_after=5)


def the_error(events: list[ThreadStreamEvent]) -> tuple[str | None, bool]:
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    assert len(errors) == 1
    return errors[0].message, errors[0].allow_retry


@pytest.mark.parametrize("refused", ["append_message", "start_reply"])
@pytest.mark.parametrize(
    ("refusal", "expected"),
    [
        (TOO_LARGE, ("the payload is larger than 65536 bytes", False)),
        (OVER_BUDGET, ("too many messages; slow down (try again in 5 s)", True)),
    ],
)
async def test_a_refusal_offers_a_retry_only_when_one_may_succeed(
    refused: str, refusal: Exception, expected: tuple[str, bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storing the user message (before the SDK's event loop), or starting its reply."""
    alice, chatkit = uuid.uuid4(), ChatKit(ScriptedModel(says("first")))
    thread_id = await chatkit.new_thread(alice)

    async def refuse(*_: Any) -> None:
        raise refusal

    monkeypatch.setattr(chatkit.store, refused, refuse)

    assert the_error(await chatkit.events(alice, add(thread_id, "again"))) == expected
