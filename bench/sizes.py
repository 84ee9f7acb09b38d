"""How big each case is: the full run (`make bench`) and the smoke run (`--quick`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    runs: int  # every figure is the median of this many runs
    latency_requests: int  # per run and per side (stack, baseline), cases 1, 2, 4, 5
    read_requests: int  # per run, cases 4 and 5 (cheap reads: more samples, steadier p99)
    warm_up_turns: int  # case 1: past HISTORY_LIMIT / 2 the history sent stops growing
    levels: tuple[int, ...]  # concurrent users, case 3
    load_runs: int  # runs of case 3 (each a pass over every level)
    level_seconds: float  # per run and level, case 3
    total_conversations: int  # in the database, case 4
    big_user_conversations: int
    small_user_conversations: int
    big_history: int  # messages, case 5
    small_history: int
    streams: int  # concurrent SSE turns, case 6
    stream_words: int  # extra words per streamed reply, case 6
    stream_tokens_per_second: float
    stream_runs: int
    search_big_messages: int  # case 8: messages of the user searched
    search_small_messages: int
    chatkit_users: int  # case 9: concurrent users, instant model
    chatkit_paced_users: int  # case 9: concurrent users, paced model
    chatkit_turns_per_thread: int  # threads.create, then add_user_message on the same thread
    chatkit_runs: int  # per model: ChatKit and REST windows, alternated
    chatkit_seconds: float  # per window
    chatkit_paced_rate: float  # tokens/s of the paced model
    chatkit_paced_words: int  # extra words of each paced reply


FULL = Sizes(
    runs=5,
    latency_requests=100,
    read_requests=400,
    warm_up_turns=30,
    levels=(1, 8, 32, 128),
    load_runs=3,
    level_seconds=5.0,
    total_conversations=1_000_000,
    big_user_conversations=100_000,
    small_user_conversations=100,
    big_history=100_000,
    small_history=50,
    streams=1000,
    stream_words=60,
    stream_tokens_per_second=20.0,
    stream_runs=3,
    search_big_messages=1_000_000,
    search_small_messages=1_000,
    chatkit_users=8,
    chatkit_paced_users=32,
    chatkit_turns_per_thread=5,
    chatkit_runs=4,
    chatkit_seconds=5.0,
    chatkit_paced_rate=100.0,
    chatkit_paced_words=40,
)

QUICK = Sizes(
    runs=3,
    latency_requests=8,
    read_requests=8,
    warm_up_turns=3,
    levels=(1, 8, 32),
    load_runs=3,
    level_seconds=0.4,
    total_conversations=5_000,
    big_user_conversations=1_000,
    small_user_conversations=100,
    big_history=1_000,
    small_history=50,
    streams=40,
    stream_words=0,
    stream_tokens_per_second=20.0,
    stream_runs=2,
    search_big_messages=5_000,
    search_small_messages=1_000,
    chatkit_users=8,
    chatkit_paced_users=16,
    chatkit_turns_per_thread=5,
    chatkit_runs=2,
    chatkit_seconds=0.6,
    chatkit_paced_rate=100.0,
    chatkit_paced_words=10,
)
