"""Case 11: what metrics and traces cost a turn, in stack CPU per REST turn (from /proc, as
case 3 measures it), for three configurations of the Python services in one run:

- baseline: METRICS_ENABLED=false and no OTEL_EXPORTER_OTLP_ENDPOINT (no tracing);
- metrics on (the shipped default);
- metrics on and traces exported over OTLP/HTTP to a local sink (bench.otlp_sink), with
  the SDK's default batching.

Switching configuration restarts auth, conversations and the agent with the new settings
(same ports, same database, same gateway). The configurations alternate in rounds (A B C
A B C ...) so that drift on a shared machine hits each alike; every window follows a
fresh restart and a warm-up. Figures are medians over rounds; the sink's own CPU is not
the stack's (a collector runs elsewhere) and is only noted.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from devstack.processes import SERVICE_PORT_SETTINGS, ManagedProcess

from bench.cases import Context
from bench.cases.throughput import Window, load_window
from bench.client import send_json
from bench.procstats import PidSource
from bench.report import Row
from bench.sizes import FULL, QUICK
from bench.stack import STACK_GROUPS, BenchStack

TEXT = "What does watching a turn cost?"
LEVEL = 8  # concurrent users: enough to keep both cores busy, far from any limit
PYTHON_SERVICES = ("auth", "conversations", "agent")  # the processes whose settings change
SETTINGS = ("METRICS_ENABLED", "OTEL_EXPORTER_OTLP_ENDPOINT")
SINK_GROUP = "otlp sink"


@dataclass(frozen=True)
class Plan:
    rounds: int
    seconds: float  # per measured window
    warm_up_seconds: float  # after each restart: pools, caches, JWKS, token verify cache


PLANS = {FULL: Plan(rounds=3, seconds=8.0, warm_up_seconds=2.0), QUICK: Plan(1, 0.5, 0.5)}


@dataclass(frozen=True)
class Config:
    label: str
    metrics: bool
    tracing: bool

    def settings(self, endpoint: str) -> dict[str, str]:
        values = {"METRICS_ENABLED": "true" if self.metrics else "false"}
        if self.tracing:
            values["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
        return values


BASELINE = Config("metrics and tracing off", metrics=False, tracing=False)
CONFIGS = (
    BASELINE,
    Config("metrics on", True, False),
    Config("metrics and OTLP traces on", True, True),
)


@dataclass(frozen=True)
class Measured:
    window: Window
    exports: int  # OTLP requests the sink received during the window
    export_bytes: int

    def stack_ms(self, name: str | None = None) -> float:
        """CPU milliseconds per turn: one group's, or the stack's (sum of STACK_GROUPS)."""
        names = STACK_GROUPS if name is None else (name,)
        spent = sum(self.window.cpu.get(n, 0.0) for n in names)
        return 1000 * spent / max(self.window.turns, 1)


def _restart_with(bench: BenchStack, settings: Mapping[str, Mapping[str, str]]) -> None:
    """Restarts the Python services, each with its `settings` in place of the observability
    ones. From the main thread (devstack: a child's parent-death signal is tied to it)."""
    processes = [bench.stack.processes[name] for name in PYTHON_SERVICES]
    for process in reversed(processes):
        process.stop()
    for process in processes:
        for key in SETTINGS:
            process.env.pop(key, None)
        process.env.update(settings.get(process.name, {}))
        process.start()
    for process in processes:
        process.wait_ready(bench.stack.config.ready_timeout)


@contextmanager
def _restored(bench: BenchStack) -> Iterator[None]:
    """Puts the services back as they were (what runs after this case sees the defaults)."""
    saved = {
        name: {k: v for k in SETTINGS if (v := bench.stack.processes[name].env.get(k)) is not None}
        for name in PYTHON_SERVICES
    }
    try:
        yield
    finally:
        _restart_with(bench, saved)


@contextmanager
def _sink(bench: BenchStack) -> Iterator[ManagedProcess]:
    sink = ManagedProcess(
        "otlp-sink",
        [sys.executable, "-m", "bench.otlp_sink"],
        cwd=bench.stack.config.repo_root,
        log_path=bench.log_dir / "otlp-sink.log",
        port_settings=SERVICE_PORT_SETTINGS,  # ready once it reports its port
    )
    try:
        sink.start().wait_ready(30)
        yield sink
    finally:
        sink.stop()


def _received(sink: ManagedProcess) -> dict[str, int]:
    answer: dict[str, int] = json.loads(httpx.get(sink.url("/"), timeout=5).text)
    return answer


async def run(ctx: Context) -> list[Row]:
    plan = PLANS.get(ctx.sizes, PLANS[FULL])
    users = await ctx.users(LEVEL)
    pairs = await ctx.conversations(users, LEVEL)

    def turn(i: int) -> Awaitable[float]:
        user, conversation = pairs[i]
        return send_json(ctx.gateway, user, conversation, TEXT)

    measured: dict[Config, list[Measured]] = {config: [] for config in CONFIGS}
    with _sink(ctx.bench) as sink, _restored(ctx.bench):
        for _ in range(plan.rounds):
            for config in CONFIGS:
                measured[config].append(await _measure(ctx, config, sink, plan, turn))
    return [_row(config, runs, measured[BASELINE]) for config, runs in measured.items()]


async def _measure(
    ctx: Context,
    config: Config,
    sink: ManagedProcess,
    plan: Plan,
    turn: Callable[[int], Awaitable[float]],
) -> Measured:
    """One window of `config`: restart, warm up, then measure."""
    settings = config.settings(sink.url())
    _restart_with(ctx.bench, dict.fromkeys(PYTHON_SERVICES, settings))
    groups: dict[str, PidSource] = {**ctx.bench.groups(), SINK_GROUP: lambda: [sink.pid or 0]}
    await load_window(groups, LEVEL, plan.warm_up_seconds, turn)
    before = _received(sink)
    window = await load_window(groups, LEVEL, plan.seconds, turn)
    after = _received(sink)
    return Measured(window, after["exports"] - before["exports"], after["bytes"] - before["bytes"])


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _row(config: Config, runs: list[Measured], baseline: list[Measured]) -> Row:
    by_group = ", ".join(
        f"{name} {_median([m.stack_ms(name) for m in runs]):.2f}" for name in STACK_GROUPS
    )
    errors = sum(m.window.errors for m in runs)
    totals = [m.stack_ms() for m in runs]
    note = (
        f"rounds {min(totals):.1f} to {max(totals):.1f} ms;"
        f" {_median([m.window.rate for m in runs]):.0f} turns/s at {LEVEL} users;"
        f" ms/turn: {by_group}"
    )
    if config.tracing:
        turns = sum(m.window.turns for m in runs)
        exported = sum(m.export_bytes for m in runs) / 1024 / max(turns, 1)
        sink_ms = _median(
            [1000 * m.window.cpu.get(SINK_GROUP, 0.0) / max(m.window.turns, 1) for m in runs]
        )
        note += (
            f"; {sum(m.exports for m in runs)} OTLP exports, {exported:.1f} KiB per turn"
            f" (the sink's CPU, not counted: {sink_ms:.2f} ms/turn)"
        )
    note += f"; {errors} errors" if errors else ""
    is_baseline = config == BASELINE
    return Row(
        "11",
        f"stack CPU per REST turn, {config.label}",
        _median(totals),
        "ms",
        None if is_baseline else _median([m.stack_ms() for m in baseline]),
        "" if is_baseline else BASELINE.label,
        note=note,
    )
