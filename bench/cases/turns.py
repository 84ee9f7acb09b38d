"""Cases 1 and 2: what the stack adds to one turn, against the model called directly.

One user, one conversation at its steady state (the agent sends the latest 50 messages),
requests one at a time, the stack's and the baseline's interleaved so both meet the same
moments of a noisy machine.
"""

from __future__ import annotations

from bench.cases import Context
from bench.client import direct_json, direct_stream, send_json, send_sse
from bench.report import Row
from bench.stats import median_of_runs, ms, percentile

TEXT = "How long does a turn take?"
ADDED_TARGET_MS = 10.0


async def run(ctx: Context) -> list[Row]:
    (user,) = await ctx.users(1)
    ((_, conversation),) = await ctx.conversations([user], 1)
    for _ in range(ctx.sizes.warm_up_turns):
        await send_json(ctx.gateway, user, conversation, TEXT)
        await direct_json(ctx.model, TEXT)

    json_runs, sse_runs = [], []
    for _ in range(ctx.sizes.runs):
        stack_s, direct_s, stack_ttft, direct_ttft = [], [], [], []
        for _ in range(ctx.sizes.latency_requests):
            stack_s.append(await send_json(ctx.gateway, user, conversation, TEXT))
            direct_s.append(await direct_json(ctx.model, TEXT))
            streamed = await send_sse(ctx.gateway, user, conversation, TEXT)
            direct = await direct_stream(ctx.model, TEXT)
            if streamed.error or direct.error or not streamed.first_token or not direct.first_token:
                raise RuntimeError(f"stream failed: {streamed.error or direct.error}")
            stack_ttft.append(streamed.first_token)
            direct_ttft.append(direct.first_token)
        json_runs.append(_percentiles(stack_s, direct_s))
        sse_runs.append(_percentiles(stack_ttft, direct_ttft))
    return _rows("1", "JSON turn", median_of_runs(json_runs), target=True) + _rows(
        "2", "time to first token (SSE)", median_of_runs(sse_runs), target=False
    )


def _percentiles(stack: list[float], direct: list[float]) -> dict[str, float]:
    return {
        "p50": ms(percentile(stack, 50)),
        "p99": ms(percentile(stack, 99)),
        "base p50": ms(percentile(direct, 50)),
        "base p99": ms(percentile(direct, 99)),
    }


def _rows(case: str, figure: str, m: dict[str, float], *, target: bool) -> list[Row]:
    rows = []
    for q in ("p50", "p99"):
        added = m[q] - m[f"base {q}"]
        wanted = target and q == "p50"
        rows.append(
            Row(
                case,
                f"{figure} {q}",
                m[q],
                "ms",
                m[f"base {q}"],
                "openai client → model",
                target=f"added < {ADDED_TARGET_MS:.0f} ms" if wanted else "",
                met=(added < ADDED_TARGET_MS) if wanted else None,
            )
        )
    return rows
