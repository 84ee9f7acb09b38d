"""Case 6: many open SSE turns against ONE agent process, the model streaming slowly.

The streams go straight to the agent's port (the gateway is not what is measured here);
each has its own conversation, and all start at once. The baseline is as many streams of
the same slow reply read directly from the offline model with the `openai` client.
"""

from __future__ import annotations

import asyncio
import statistics

import httpx

from bench.cases import Context, sampling
from bench.client import StreamResult, User, direct_stream, http_client, model_client, send_sse
from bench.procstats import RssPeaks, group_rss
from bench.report import Row
from bench.stats import ms, percentile

MIB = 1024 * 1024
TARGET_RSS_MIB = 300
CONVERSATIONS_PER_USER = 20


def _text(ctx: Context) -> str:
    s = ctx.sizes
    return f"Tell me a story. [[slow:{s.stream_tokens_per_second:g}]] [[words:{s.stream_words}]]"


def _summary(results: list[StreamResult]) -> dict[str, float]:
    firsts = [r.first_token for r in results if r.first_token is not None]
    return {
        "errors": float(sum(1 for r in results if r.error)),
        "ttft p99": ms(percentile(firsts, 99)),
    }


async def run(ctx: Context) -> list[Row]:
    count, text = ctx.sizes.streams, _text(ctx)
    users = await ctx.users(max(1, count // CONVERSATIONS_PER_USER))
    pairs = await ctx.conversations(users, count)
    agent = ctx.bench.tree("agent")
    idle_rss = group_rss(agent)
    runs: list[dict[str, float]] = []
    errors_seen: list[str] = []
    running = ctx.bench.stack
    model = model_client(running.offline_model_url)
    async with http_client(running.agent_url, connections=count + 16) as http, model:
        for _ in range(ctx.sizes.stream_runs):
            peaks = RssPeaks({"agent": agent})
            async with sampling(peaks, every=0.1):
                results = await _all_at_once(http, pairs, text)
            direct = await asyncio.gather(*(direct_stream(model, text) for _ in pairs))
            errors_seen += [r.error for r in results if r.error]
            stack, base = _summary(results), _summary(list(direct))
            runs.append(
                {
                    **stack,
                    "rss": peaks.peaks["agent"] / MIB,
                    **{f"base {k}": v for k, v in base.items()},
                }
            )
    m = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    label, note = "openai client → model", _error_note(ctx, errors_seen)
    return [
        Row(
            "6",
            f"{count:,} open SSE turns on one agent: errors",
            m["errors"],
            "",
            m["base errors"],
            label,
            target="0",
            met=m["errors"] == 0,
            note=note,
        ),
        Row(
            "6",
            f"{count:,} open SSE turns: time to first token p99",
            m["ttft p99"],
            "ms",
            m["base ttft p99"],
            label,
        ),
        Row(
            "6",
            f"{count:,} open SSE turns: agent RSS (peak)",
            m["rss"],
            "MiB",
            idle_rss / MIB,
            "agent idle",
            target=f"< {TARGET_RSS_MIB} MiB",
            met=m["rss"] < TARGET_RSS_MIB,
        ),
    ]


async def _all_at_once(
    http: httpx.AsyncClient, pairs: list[tuple[User, str]], text: str
) -> list[StreamResult]:
    return list(await asyncio.gather(*(send_sse(http, u, cid, text) for u, cid in pairs)))


def _error_note(ctx: Context, errors: list[str]) -> str:
    sizes = ctx.sizes
    words = (
        f"model at {sizes.stream_tokens_per_second:g} tokens/s, ~{sizes.stream_words + 10} words"
    )
    if not errors:
        return words
    kinds: dict[str, int] = {}
    for error in errors:
        kinds[error] = kinds.get(error, 0) + 1
    return words + "; errors over all runs: " + ", ".join(f"{k} x{n}" for k, n in kinds.items())
