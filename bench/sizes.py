"""How big each case is: the full run (`make bench`) and the smoke run (`--quick`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    runs: int  # every figure is the median of this many runs
    latency_requests: int  # per run and per side (stack, baseline), cases 1, 2, 4, 5
    levels: tuple[int, ...]  # concurrent users, case 3
    level_seconds: float  # per run and level, case 3
    total_conversations: int  # in the database, case 4
    big_user_conversations: int
    small_user_conversations: int
    big_history: int  # messages, case 5
    small_history: int
    streams: int  # concurrent SSE turns, case 6
    stream_words: int  # extra words per streamed reply, case 6
    stream_tokens_per_second: float


FULL = Sizes(
    runs=5,
    latency_requests=200,
    levels=(1, 8, 32, 128),
    level_seconds=4.0,
    total_conversations=1_000_000,
    big_user_conversations=100_000,
    small_user_conversations=100,
    big_history=100_000,
    small_history=50,
    streams=1000,
    stream_words=60,
    stream_tokens_per_second=20.0,
)

QUICK = Sizes(
    runs=3,
    latency_requests=12,
    levels=(1, 8, 32),
    level_seconds=0.5,
    total_conversations=5_000,
    big_user_conversations=1_000,
    small_user_conversations=100,
    big_history=1_000,
    small_history=50,
    streams=50,
    stream_words=10,
    stream_tokens_per_second=20.0,
)
