"""Case 5: the latest 50 messages over gRPC (what the agent loads every turn), for a short
conversation and a very long one, calls one at a time and interleaved."""

from __future__ import annotations

import time

import grpc
from chat.conversations.v1 import conversations_pb2 as pb
from chat.conversations.v1 import conversations_pb2_grpc as pb_grpc

from bench import seed
from bench.cases import Context
from bench.report import Row
from bench.stats import median_of_runs, ms, percentile

LIMIT = 50
TARGET_RATIO = 1.5


async def prepare(ctx: Context) -> None:
    (user,) = await ctx.users(1)
    sizes = ctx.sizes
    with ctx.bench.sql() as conn:
        small, big = seed.seed_history(conn, user.id, [sizes.small_history, sizes.big_history])
    ctx.history = (user, small, big)


async def run(ctx: Context) -> list[Row]:
    user, small, big = ctx.history
    metadata = (("authorization", f"Bearer {user.token}"),)
    target = ctx.bench.stack.conversations_grpc_target
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.ConversationsServiceStub(channel)

        async def latest(conversation_id: str) -> float:
            request = pb.ListMessagesRequest(conversation_id=conversation_id, limit=LIMIT)
            started = time.perf_counter()
            response = await stub.ListMessages(request, metadata=metadata, timeout=10)
            elapsed = time.perf_counter() - started
            if len(response.items) != LIMIT:
                raise RuntimeError(f"expected {LIMIT} messages, got {len(response.items)}")
            return elapsed

        for cid in (small, big):  # warm-up
            await latest(cid)
        runs = []
        for _ in range(ctx.sizes.runs):
            short, long = [], []
            for _ in range(ctx.sizes.read_requests):
                short.append(await latest(small))
                long.append(await latest(big))
            runs.append(
                {
                    "p50": ms(percentile(long, 50)),
                    "p99": ms(percentile(long, 99)),
                    "base p50": ms(percentile(short, 50)),
                    "base p99": ms(percentile(short, 99)),
                }
            )
    m = median_of_runs(runs)
    return [
        Row(
            "5",
            f"history, latest {LIMIT} over gRPC {q}, {ctx.sizes.big_history:,} messages",
            m[q],
            "ms",
            m[f"base {q}"],
            f"{ctx.sizes.small_history} messages",
            target=f"ratio < {TARGET_RATIO}",
            met=m[q] / m[f"base {q}"] < TARGET_RATIO,
        )
        for q in ("p50", "p99")
    ]
