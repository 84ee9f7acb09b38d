"""Cases 3 and 7: turns per second at 1..128 concurrent users, what saturates, the CPU a
turn costs each process (from /proc, summed over the run), and resident memory idle and
under that load.

Every user has a conversation of their own and sends JSON turns back to back for a fixed
time; the baseline is as many workers calling the offline model directly. A "run" is one
pass over every level, stack and baseline interleaved; figures are medians over runs.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai

from bench.cases import Context, sampling
from bench.client import direct_json, send_json
from bench.procstats import CpuWindow, PidSource, RssPeaks
from bench.profile import PROFILED, record
from bench.report import Row
from bench.stack import CLIENT_GROUP, MODEL_GROUP, STACK_GROUPS

TEXT = "What does a turn cost?"
TARGET_TURNS_PER_SECOND = 150.0
TARGET_CPU_MS = 10.0
SATURATED = 0.9  # a process at 90% of a core or more is what limits the level
MIB = 1024 * 1024
BASELINE = "openai client → model"
# Postgres backends share the buffer cache: their memory is summed as PSS, not RSS.
SHARED_MEMORY = frozenset({"postgres"})


@dataclass(frozen=True)
class Window:
    turns: int
    errors: int
    seconds: float
    cpu: dict[str, float]  # CPU seconds per group
    rss: dict[str, int]  # peak bytes per group

    @property
    def rate(self) -> float:
        return self.turns / self.seconds


async def load_window(
    groups: dict[str, PidSource],
    level: int,
    seconds: float,
    turn: Callable[[int], Awaitable[object]],
) -> Window:
    cpu, peaks = CpuWindow(groups), RssPeaks(groups, SHARED_MEMORY)
    counts = {"turns": 0, "errors": 0}
    deadline = time.perf_counter() + seconds

    async def worker(i: int) -> None:
        while time.perf_counter() < deadline:
            try:
                await turn(i)
                counts["turns"] += 1
            except (httpx.HTTPError, openai.OpenAIError, RuntimeError):
                counts["errors"] += 1
                await asyncio.sleep(0.05)

    cpu.start()
    started = time.perf_counter()
    async with sampling(peaks):
        await asyncio.gather(*(worker(i) for i in range(level)))
    elapsed = time.perf_counter() - started
    return Window(counts["turns"], counts["errors"], elapsed, cpu.stop(), dict(peaks.peaks))


async def run(ctx: Context) -> list[Row]:
    levels, seconds = ctx.sizes.levels, ctx.sizes.level_seconds
    users = await ctx.users(max(levels))
    pairs = await ctx.conversations(users, max(levels))
    groups = ctx.bench.groups()
    await asyncio.sleep(1.0)  # let the sign-up burst settle before "idle"
    idle = RssPeaks(groups, SHARED_MEMORY)
    idle.sample()

    def stack_turn(i: int) -> Awaitable[float]:
        user, conversation = pairs[i]
        return send_json(ctx.gateway, user, conversation, TEXT)

    def direct_turn(_: int) -> Awaitable[float]:
        return direct_json(ctx.model, TEXT)

    await load_window(groups, 8, min(seconds, 1.0), stack_turn)  # warm-up: pools, caches
    stack: dict[int, list[Window]] = {level: [] for level in levels}
    direct: dict[int, list[Window]] = {level: [] for level in levels}
    for _ in range(ctx.sizes.load_runs):
        for level in levels:
            stack[level].append(await load_window(groups, level, seconds, stack_turn))
            direct[level].append(await load_window(groups, level, seconds, direct_turn))
    return (
        _throughput_rows(stack, direct)
        + _cpu_rows(stack, direct, ctx.sizes.load_runs)
        + _rss_rows(stack[max(levels)], idle.peaks, max(levels))
    )


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _busiest(windows: list[Window]) -> str:
    """The groups at the top of CPU use (share of one core), medians over runs."""
    share = {
        name: _median([w.cpu.get(name, 0.0) / w.seconds for w in windows])
        for name in windows[0].cpu
    }
    top = sorted(share.items(), key=lambda item: -item[1])[:3]
    words = ", ".join(f"{name} {100 * value:.0f}%" for name, value in top)
    limit = "saturated: " if top[0][1] >= SATURATED else "busiest: "
    return limit + words


def _throughput_rows(stack: dict[int, list[Window]], direct: dict[int, list[Window]]) -> list[Row]:
    rows = []
    top = max(stack)
    for level, windows in stack.items():
        errors = sum(w.errors for w in windows)
        stack_cpu = _median([sum(_per_turn_ms([w], n) for n in STACK_GROUPS) for w in windows])
        note = f"{stack_cpu:.1f} ms stack CPU/turn; " + _busiest(windows)
        note += f"; {errors} errors" if errors else ""
        wanted = level == top
        value = _median([w.rate for w in windows])
        rows.append(
            Row(
                "3",
                f"turns/s, {level} concurrent users",
                value,
                "/s",
                _median([w.rate for w in direct[level]]),
                BASELINE,
                target=f"≥ {TARGET_TURNS_PER_SECOND:.0f}/s" if wanted else "",
                met=value >= TARGET_TURNS_PER_SECOND if wanted else None,
                note=note,
            )
        )
    return rows


def _per_turn_ms(windows: list[Window], name: str) -> float:
    """CPU milliseconds per turn of one group over windows (one run: every level)."""
    turns = sum(w.turns for w in windows)
    return 1000 * sum(w.cpu.get(name, 0.0) for w in windows) / max(turns, 1)


def _cpu_rows(
    stack: dict[int, list[Window]], direct: dict[int, list[Window]], runs: int
) -> list[Row]:
    by_run = [[windows[r] for windows in stack.values()] for r in range(runs)]
    direct_by_run = [[windows[r] for windows in direct.values()] for r in range(runs)]
    rows = []
    for name in STACK_GROUPS:
        value = _median([_per_turn_ms(run, name) for run in by_run])
        rows.append(Row("3", f"CPU per turn: {name}", value, "ms"))
    total = _median([sum(_per_turn_ms(run, name) for name in STACK_GROUPS) for run in by_run])
    model_floor = _median([_per_turn_ms(run, MODEL_GROUP) for run in direct_by_run])
    rows.append(
        Row(
            "3",
            "CPU per turn: whole stack (sum of the above)",
            total,
            "ms",
            model_floor,
            "the model's own CPU per direct call",
            target=f"< {TARGET_CPU_MS:.0f} ms",
            met=total < TARGET_CPU_MS,
        )
    )
    for name in (MODEL_GROUP, CLIENT_GROUP):
        value = _median([_per_turn_ms(run, name) for run in by_run])
        rows.append(Row("3", f"CPU per turn: {name}", value, "ms", note="not counted in the sum"))
    return rows


def _rss_rows(loaded: list[Window], idle: dict[str, int], level: int) -> list[Row]:
    rows = []
    for name in (*STACK_GROUPS, MODEL_GROUP):
        value = _median([w.rss.get(name, 0) / MIB for w in loaded])
        note = "PSS of every backend of our database" if name == "postgres" else ""
        if name == "gateway":
            note = "nginx master and workers"
        rows.append(
            Row(
                "7",
                f"RSS of {name} under {level} users",
                value,
                "MiB",
                idle.get(name, 0) / MIB,
                "idle",
                note=note,
            )
        )
    return rows


async def profile(ctx: Context, out: Path, level: int = 32, seconds: float = 15.0) -> list[Path]:
    """py-spy on each Python service while `level` users send turns (see bench.profile)."""
    users = await ctx.users(level)
    pairs = await ctx.conversations(users, level)
    groups = ctx.bench.groups()

    def stack_turn(i: int) -> Awaitable[float]:
        user, conversation = pairs[i]
        return send_json(ctx.gateway, user, conversation, TEXT)

    await load_window(groups, level, 1.0, stack_turn)  # warm-up
    pids = {name: ctx.bench.pid(name) for name in PROFILED}
    return await record(pids, seconds, out, lambda: load_window(groups, level, seconds, stack_turn))
