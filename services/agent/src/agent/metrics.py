"""The agent's own metrics (chat_common.metrics has the HTTP ones): turns by outcome and
protocol, time to first token, turn duration, model tokens and errors, open streams.

One `TurnMetrics` per reply stream, observed once per turn (the first token once, usage
once per model call), never per delta. Label values are bounded: outcomes and protocols
are fixed sets, the model is the one configured, error kinds a fixed map.
"""

from __future__ import annotations

import time
from typing import Literal

from prometheus_client import Counter, Gauge, Histogram

from agent.model import ModelError, Usage

Protocol = Literal["rest", "chatkit"]

_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)

TURNS = Counter(
    "agent_turns_total",
    "Replies ended, by protocol and outcome (complete, failed, interrupted)",
    ["protocol", "outcome"],
)
TIME_TO_FIRST_TOKEN = Histogram(
    "agent_time_to_first_token_seconds",
    "From the reply's start (user message stored) to the model's first text",
    ["protocol"],
    buckets=_SECONDS,
)
TURN_DURATION = Histogram(
    "agent_turn_duration_seconds",
    "From the reply's start to its final state",
    ["protocol"],
    buckets=_SECONDS,
)
MODEL_TOKENS = Counter(
    "agent_model_tokens_total",
    "Tokens the model reported, by model and direction",
    ["model", "direction"],
)
MODEL_ERRORS = Counter("agent_model_errors_total", "Failed model calls, by kind", ["kind"])
OPEN_STREAMS = Gauge("agent_open_streams", "Replies streaming now")

_OUTCOMES = frozenset({"complete", "failed", "interrupted"})

# ModelError's details are a fixed vocabulary (agent.model); anything else is "stream".
_ERROR_KINDS = {
    "the model is rate limited; try again later": "rate_limited",
    "the model refused our credentials": "credentials",
    "could not reach the model": "connection",
    # The provider's billing quota is used up (`insufficient_quota`): no retry will help,
    # the operator must act, so it is not lumped in with broken streams.
    "the model's usage quota is used up; ask the operator to raise it": "quota",
}


def error_kind(exc: ModelError) -> str:
    if exc.timeout:
        return "timeout"
    if exc.detail.startswith("the model failed (HTTP"):
        return "http_status"
    return _ERROR_KINDS.get(exc.detail, "stream")


class TurnMetrics:
    """What one reply stream reports; does nothing when metrics are off."""

    __slots__ = ("enabled", "model", "open", "protocol", "started", "waiting_first_token")

    def __init__(self, *, protocol: Protocol, model: str, enabled: bool) -> None:
        self.enabled, self.protocol, self.model = enabled, protocol, model
        self.started = time.perf_counter()
        self.waiting_first_token = enabled
        self.open = False

    def stream_opened(self) -> None:
        if self.enabled:
            self.open = True
            OPEN_STREAMS.inc()

    def first_token(self) -> None:
        self.waiting_first_token = False
        TIME_TO_FIRST_TOKEN.labels(self.protocol).observe(time.perf_counter() - self.started)

    def usage(self, usage: Usage) -> None:
        if self.enabled:
            MODEL_TOKENS.labels(self.model, "input").inc(usage.input_tokens)
            MODEL_TOKENS.labels(self.model, "output").inc(usage.output_tokens)

    def model_error(self, exc: ModelError) -> None:
        if self.enabled:
            MODEL_ERRORS.labels(error_kind(exc)).inc()

    def finished(self, status: str) -> None:
        """Once, when the stream is closed, with the reply's stored status (one that
        could not be stored, still `in_progress`, counts as failed)."""
        if not self.enabled:
            return
        outcome = status if status in _OUTCOMES else "failed"
        self.enabled = False  # a second close reports nothing
        if self.open:
            OPEN_STREAMS.dec()
        TURNS.labels(self.protocol, outcome).inc()
        TURN_DURATION.labels(self.protocol).observe(time.perf_counter() - self.started)
