"""In process: what a turn reports to the agent's Prometheus metrics, by how it ends
(complete, failed, interrupted) and by the door it came through (REST, ChatKit), and the
kind a failed model call is counted under (a used-up provider quota is its own kind)."""

from __future__ import annotations

import uuid

import pytest
from agent.context import RequestContext
from agent.metrics import error_kind
from agent.model import ModelError, TextDelta, _status_detail
from agent.turn_events import ReplyDelta
from prometheus_client import REGISTRY

from services.agent.tests.fake_model import ScriptedModel, Stall, Step, says
from services.agent.tests.fakes import FakeConversations, make_pipeline
from services.agent.tests.test_chatkit_server import ChatKit


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Moved:
    """The change of the agent's samples across a `with` block."""

    def __init__(self) -> None:
        self.before: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def __call__(self, name: str, **labels: str) -> float:
        return sample(name, **labels) - self.before.get((name, tuple(sorted(labels.items()))), 0)

    def __enter__(self) -> Moved:
        for family in REGISTRY.collect():
            for s in family.samples:
                self.before[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return self

    def __exit__(self, *_: object) -> None:
        pass


async def rest_turn(*script: Step, stop_at_first_delta: bool = False) -> None:
    """One REST reply over the fakes; the consumer stops at its first text (a client
    gone mid-stream) when asked."""
    store, ctx = FakeConversations(), RequestContext(user_id=uuid.uuid4())
    pipeline = make_pipeline(store, ScriptedModel(list(script)))
    turn = await pipeline.start_turn(ctx, store.conversation(ctx.user_id), "hi")
    async with pipeline.reply(ctx, turn.assistant_message, history=turn.history) as events:
        async for event in events:
            if stop_at_first_delta and isinstance(event, ReplyDelta):
                break


async def test_a_complete_rest_turn_counts_once_with_its_tokens_and_timings() -> None:
    with Moved() as moved:
        await rest_turn(*says("Hel", "lo", input_tokens=11, output_tokens=5))
    rest = {"protocol": "rest"}
    assert moved("agent_turns_total", outcome="complete", **rest) == 1
    assert moved("agent_time_to_first_token_seconds_count", **rest) == 1
    assert moved("agent_turn_duration_seconds_count", **rest) == 1
    assert moved("agent_model_tokens_total", model="gpt-4o-mini", direction="input") == 11
    assert sample("agent_open_streams") == 0


async def test_a_model_error_counts_a_failed_turn_and_the_error_kind() -> None:
    with Moved() as moved:
        await rest_turn(TextDelta("Hel"), ModelError(_status_detail(429, "insufficient_quota")))
    assert moved("agent_turns_total", protocol="rest", outcome="failed") == 1
    assert moved("agent_turns_total", protocol="rest", outcome="complete") == 0
    assert moved("agent_model_errors_total", kind="quota") == 1
    assert moved("agent_model_errors_total", kind="stream") == 0


async def test_a_client_gone_mid_reply_counts_an_interrupted_turn() -> None:
    with Moved() as moved:
        await rest_turn(TextDelta("Hel"), Stall(), stop_at_first_delta=True)
    assert moved("agent_turns_total", protocol="rest", outcome="interrupted") == 1
    assert moved("agent_turn_duration_seconds_count", protocol="rest") == 1
    assert sample("agent_open_streams") == 0


async def test_a_chatkit_turn_counts_under_the_chatkit_protocol() -> None:
    chatkit = ChatKit(ScriptedModel(says("Hel", "lo")))
    with Moved() as moved:
        await chatkit.new_thread(uuid.uuid4())
    assert moved("agent_turns_total", protocol="chatkit", outcome="complete") == 1
    assert moved("agent_time_to_first_token_seconds_count", protocol="chatkit") == 1
    assert moved("agent_turns_total", protocol="rest", outcome="complete") == 0


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ModelError(_status_detail(429, "insufficient_quota")), "quota"),
        (ModelError(_status_detail(429)), "rate_limited"),
        (ModelError(_status_detail(401)), "credentials"),
        (ModelError(_status_detail(500)), "http_status"),
        (ModelError("the model timed out", timeout=True), "timeout"),
        (ModelError("could not reach the model"), "connection"),
        (ModelError("the model failed mid-stream"), "stream"),
    ],
)
def test_each_model_failure_has_its_kind(error: ModelError, kind: str) -> None:
    assert error_kind(error) == kind
