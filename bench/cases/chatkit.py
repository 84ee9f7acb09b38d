"""Case 9: a ChatKit turn through the gateway's `/chatkit` against the REST turn, so the
richer protocol is never paid for silently.

Each user starts a thread with `threads.create` and sends `threads.add_user_message` on it
until the thread holds `chatkit_turns_per_thread` turns, then starts another. The
baseline, in the same run, is the same users doing the same over REST: a new
conversation, then streamed (SSE) turns in it, as ChatKit's replies are streamed too.
Windows of the two sides alternate (which goes first alternates too), so the machine's
load meets both alike; once with the model instant, once pacing its tokens.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench.cases import Context
from bench.cases.throughput import Window, load_window
from bench.client import (
    User,
    chatkit_add,
    chatkit_create,
    create_conversation,
    send_sse,
)
from bench.profile import PROFILED, record
from bench.report import Row
from bench.stack import CLIENT_GROUP, STACK_GROUPS

TARGET_CPU_RATIO = 1.5
BASELINE = "REST SSE turn"
Turn = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class Variant:
    label: str  # how the rows name the model's behaviour
    text: str  # what every turn sends (markers pace the offline model)
    users: int
    per_thread: int  # turns per thread (and per REST conversation)


def _variants(ctx: Context) -> list[Variant]:
    s = ctx.sizes
    per_thread = s.chatkit_turns_per_thread
    paced = f"[[slow:{s.chatkit_paced_rate:g}]] [[words:{s.chatkit_paced_words}]]"
    return [
        Variant("instant model", "What does a ChatKit turn cost?", s.chatkit_users, per_thread),
        Variant(
            f"paced model ({s.chatkit_paced_rate:g} tokens/s)",
            f"What does a paced turn cost? {paced}",
            s.chatkit_paced_users,
            per_thread,
        ),
    ]


class _Threads:
    """Per worker: the thread (or conversation) it writes to and how many turns it holds."""

    def __init__(self, users: list[User], per_thread: int) -> None:
        self.users = users
        self.per_thread = per_thread
        self.current: dict[int, tuple[str, int]] = {}

    def due(self, worker: int) -> tuple[str, int]:
        thread, turns = self.current.get(worker, ("", 0))
        return ("", 0) if turns >= self.per_thread else (thread, turns)

    def done(self, worker: int, thread: str, turns: int) -> None:
        self.current[worker] = (thread, turns + 1)


def _chatkit_turn(ctx: Context, users: list[User], text: str) -> Turn:
    threads = _Threads(users, ctx.sizes.chatkit_turns_per_thread)

    async def turn(worker: int) -> None:
        user, (thread, turns) = users[worker], threads.due(worker)
        if thread:
            await chatkit_add(ctx.gateway, user, thread, text)
        else:
            thread = await chatkit_create(ctx.gateway, user, text)
        threads.done(worker, thread, turns)

    return turn


def _rest_turn(ctx: Context, users: list[User], text: str) -> Turn:
    threads = _Threads(users, ctx.sizes.chatkit_turns_per_thread)

    async def turn(worker: int) -> None:
        user, (conversation, turns) = users[worker], threads.due(worker)
        conversation = conversation or await create_conversation(ctx.gateway, user)
        streamed = await send_sse(ctx.gateway, user, conversation, text)
        if streamed.error:
            raise RuntimeError(f"REST stream failed: {streamed.error}")
        threads.done(worker, conversation, turns)

    return turn


async def run(ctx: Context) -> list[Row]:
    rows: list[Row] = []
    for variant in _variants(ctx):
        users = await ctx.users(variant.users)
        rows += await _measure(ctx, variant, users)
    return rows


async def _measure(ctx: Context, variant: Variant, users: list[User]) -> list[Row]:
    groups = ctx.bench.groups()
    sides = {
        "chatkit": _chatkit_turn(ctx, users, variant.text),
        "rest": _rest_turn(ctx, users, variant.text),
    }
    for turn in sides.values():  # warm-up: pools, caches, both routes
        await load_window(groups, variant.users, min(ctx.sizes.chatkit_seconds, 1.0), turn)
    windows: dict[str, list[Window]] = {"chatkit": [], "rest": []}
    for r in range(ctx.sizes.chatkit_runs):
        order = ("rest", "chatkit") if r % 2 == 0 else ("chatkit", "rest")
        for side in order:
            window = await load_window(
                groups, variant.users, ctx.sizes.chatkit_seconds, sides[side]
            )
            windows[side].append(window)
    return _rows(variant, windows["chatkit"], windows["rest"])


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _cpu_ms(windows: list[Window], name: str) -> float:
    """CPU milliseconds per turn of one group: the median over the runs' windows."""
    return _median([1000 * w.cpu.get(name, 0.0) / max(w.turns, 1) for w in windows])


def _stack_ms(windows: list[Window]) -> float:
    per_run = [
        sum(1000 * w.cpu.get(n, 0.0) for n in STACK_GROUPS) / max(w.turns, 1) for w in windows
    ]
    return _median(per_run)


def _rows(variant: Variant, chatkit: list[Window], rest: list[Window]) -> list[Row]:
    label, users = variant.label, variant.users
    errors = sum(w.errors for w in chatkit), sum(w.errors for w in rest)
    note = (
        f"threads.create + {variant.per_thread - 1} add_user_message per thread;"
        f" REST: a new conversation + {variant.per_thread} SSE turns"
    )
    rows = [
        Row(
            "9",
            f"ChatKit turns/s, {label}, {users} concurrent users",
            _median([w.rate for w in chatkit]),
            "/s",
            _median([w.rate for w in rest]),
            BASELINE,
            note=note,
        ),
        Row(
            "9",
            f"ChatKit turns that failed, {label}: errors",
            float(errors[0]),
            "",
            float(errors[1]),
            BASELINE,
            target="0",
            met=errors[0] == 0,
        ),
    ]
    for name in STACK_GROUPS:
        rows.append(
            Row(
                "9",
                f"ChatKit CPU per turn, {label}: {name}",
                _cpu_ms(chatkit, name),
                "ms",
                _cpu_ms(rest, name),
                BASELINE,
            )
        )
    chatkit_ms, rest_ms = _stack_ms(chatkit), _stack_ms(rest)
    rows.append(
        Row(
            "9",
            f"ChatKit CPU per turn, {label}: whole stack",
            chatkit_ms,
            "ms",
            rest_ms,
            BASELINE,
            target=f"ratio ≤ {TARGET_CPU_RATIO:g}",
            met=chatkit_ms <= TARGET_CPU_RATIO * rest_ms,
        )
    )
    rows.append(
        Row(
            "9",
            f"ChatKit CPU per turn, {label}: {CLIENT_GROUP}",
            _cpu_ms(chatkit, CLIENT_GROUP),
            "ms",
            _cpu_ms(rest, CLIENT_GROUP),
            BASELINE,
            note="not counted in the sum",
        )
    )
    return rows


async def profile(ctx: Context, out: Path, seconds: float = 15.0) -> list[Path]:
    """py-spy on each Python service while the instant ChatKit load runs (see bench.profile)."""
    (variant, _) = _variants(ctx)
    users = await ctx.users(variant.users)
    groups, turn = ctx.bench.groups(), _chatkit_turn(ctx, users, variant.text)
    await load_window(groups, variant.users, 1.0, turn)  # warm-up
    pids = {name: ctx.bench.pid(name) for name in PROFILED}
    return await record(
        pids, seconds, out, lambda: load_window(groups, variant.users, seconds, turn)
    )
