"""Case 8: search (GET /api/chat/search) for one word, first page, by a user with very many
messages and by one with few, in the same database and run.

Every seeded message holds two words of a 500-word vocabulary, so a word is in about one
message in 250: the big user's search ranks thousands of hits, the small user's a few.
Requests go through the gateway, one at a time, the two users interleaved.
"""

from __future__ import annotations

import time

from bench import seed
from bench.cases import Context
from bench.client import User
from bench.report import Row
from bench.stats import median_of_runs, ms, percentile

PATH = "/api/chat/search"
# A whole word (the trailing space: no prefix match), in the seeded vocabulary.
QUERY = "term42 "
TARGET_RATIO = 3.0


async def prepare(ctx: Context) -> None:
    """Signs up the two users and seeds their messages (COPY)."""
    small, big = await ctx.users(2)
    ctx.search_users = (small, big)
    sizes = ctx.sizes
    with ctx.bench.sql() as conn:
        seed.seed_search(
            conn, [(small.id, sizes.search_small_messages), (big.id, sizes.search_big_messages)]
        )


async def _search(ctx: Context, user: User) -> float:
    started = time.perf_counter()
    response = await ctx.gateway.get(PATH, params={"q": QUERY}, headers=user.headers)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    if not response.json()["items"]:
        raise RuntimeError(f"no hit for {QUERY!r}: is the search seeded?")
    return elapsed


async def run(ctx: Context) -> list[Row]:
    small, big = ctx.search_users
    sizes = ctx.sizes
    for user in (small, big):  # warm-up
        await _search(ctx, user)
    runs = []
    for _ in range(sizes.runs):
        samples: dict[str, list[float]] = {"small": [], "big": []}
        for _ in range(sizes.latency_requests):
            samples["small"].append(await _search(ctx, small))
            samples["big"].append(await _search(ctx, big))
        runs.append(
            {
                f"{who} {q}": ms(percentile(values, int(q[1:])))
                for who, values in samples.items()
                for q in ("p50", "p99")
            }
        )
    m = median_of_runs(runs)
    return [
        Row(
            "8",
            f"search, one word {q}, user with {sizes.search_big_messages:,} messages",
            m[f"big {q}"],
            "ms",
            m[f"small {q}"],
            f"user with {sizes.search_small_messages:,}",
            target=f"ratio < {TARGET_RATIO}",
            met=m[f"big {q}"] / m[f"small {q}"] < TARGET_RATIO,
            note="1 message in 250 matches; first page of 20",
        )
        for q in ("p50", "p99")
    ]
