"""Case 4: the conversation list, first page and a page deep in it, for a user with few
conversations and one with very many, in a database holding many more in all.

Requests go through the gateway (auth_request included), one at a time, the four kinds
interleaved. The deep page is the one starting in the middle of the user's list; its
cursor is found by paging there first, outside the timings.
"""

from __future__ import annotations

import time

from bench import seed
from bench.cases import Context
from bench.client import User
from bench.report import Row
from bench.stats import median_of_runs, ms, percentile

PATH = "/api/chat/conversations"
TARGET_RATIO = 1.5
WALK_PAGE = 100  # the largest page the API gives


async def prepare(ctx: Context) -> None:
    """Signs up the two users and seeds every conversation of the database (COPY)."""
    small, big = await ctx.users(2)
    ctx.listing_users = (small, big)
    sizes = ctx.sizes
    with ctx.bench.sql() as conn:
        seed.seed_conversations(
            conn,
            sizes.total_conversations,
            [(small.id, sizes.small_user_conversations), (big.id, sizes.big_user_conversations)],
        )


async def _cursor_at(ctx: Context, user: User, position: int) -> str:
    """The cursor of the page that starts after `position` conversations."""
    cursor, seen = "", 0
    while seen < position:
        limit = min(WALK_PAGE, position - seen)
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        response = await ctx.gateway.get(PATH, params=params, headers=user.headers)
        response.raise_for_status()
        cursor, seen = response.json()["next_cursor"], seen + limit
    return cursor


async def _get(ctx: Context, user: User, cursor: str) -> float:
    params = {"cursor": cursor} if cursor else {}
    started = time.perf_counter()
    response = await ctx.gateway.get(PATH, params=params, headers=user.headers)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


async def run(ctx: Context) -> list[Row]:
    small, big = ctx.listing_users
    sizes = ctx.sizes
    kinds = {
        "small first": (small, ""),
        "big first": (big, ""),
        "small deep": (small, await _cursor_at(ctx, small, sizes.small_user_conversations // 2)),
        "big deep": (big, await _cursor_at(ctx, big, sizes.big_user_conversations // 2)),
    }
    for user, cursor in kinds.values():  # warm-up
        await _get(ctx, user, cursor)
    runs = []
    for _ in range(sizes.runs):
        samples: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(sizes.read_requests):
            for kind, (user, cursor) in kinds.items():
                samples[kind].append(await _get(ctx, user, cursor))
        runs.append(
            {
                f"{kind} {q}": ms(percentile(values, int(q[1:])))
                for kind, values in samples.items()
                for q in ("p50", "p99")
            }
        )
    m = median_of_runs(runs)
    rows = []
    for page, where in (("first", "first page"), ("deep", "middle page")):
        for q in ("p50", "p99"):
            value, baseline = m[f"big {page} {q}"], m[f"small {page} {q}"]
            rows.append(
                Row(
                    "4",
                    f"list, {where} {q}, user with {sizes.big_user_conversations:,}",
                    value,
                    "ms",
                    baseline,
                    f"user with {sizes.small_user_conversations:,}",
                    target=f"ratio < {TARGET_RATIO}",
                    met=value / baseline < TARGET_RATIO,
                    note=f"{sizes.total_conversations:,} conversations in the database",
                )
            )
    return rows
