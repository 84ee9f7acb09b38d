"""`python -m bench [--quick] [--output PATH] [--cases 1,2,...]`: start a stack, run the
cases, print one markdown table and write it (with the machine) to docs/benchmarks.md."""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvloop

from bench import report
from bench.cases import (
    Context,
    chatkit,
    history,
    listing,
    observability,
    retention,
    search,
    streams,
    throughput,
    turns,
)
from bench.client import http_client, model_client
from bench.report import Row
from bench.sizes import FULL, QUICK, Sizes
from bench.stack import BenchStack

ARTIFACTS = Path("test-artifacts") / "bench"
PROFILES = ARTIFACTS / "profiles"
CaseRun = Callable[[Context], Awaitable[list[Row]]]
# Case number -> what measures it (3 also yields case 7's rows).
CASES: dict[str, CaseRun] = {
    "1": turns.run,  # and 2
    "3": throughput.run,  # and 7
    "4": listing.run,
    "5": history.run,
    "6": streams.run,
    "8": search.run,
    "9": chatkit.run,
    "10": retention.run,
    "11": observability.run,  # last: it restarts the services
}
ALIASES = {"2": "1", "7": "3"}
ALL_CASES = ",".join(str(n) for n in range(1, 12))


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run with small sizes")
    parser.add_argument("--output", type=Path, help="where the markdown goes")
    parser.add_argument("--cases", default=ALL_CASES, help="comma list of case numbers")
    parser.add_argument(
        "--profile", action="store_true", help=f"also py-spy the services into {PROFILES}"
    )
    return parser.parse_args(argv)


def _raise_open_files_limit() -> None:
    """Case 6 holds thousands of sockets (ours and, inherited, the services')."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


async def _run(bench: BenchStack, sizes: Sizes, wanted: list[str], profile: bool) -> list[Row]:
    stack = bench.stack
    gateway = http_client(stack.gateway_url)
    model = model_client(stack.offline_model_url)
    async with gateway, model:
        ctx = Context(bench, sizes, gateway, model)
        started = time.monotonic()
        if "4" in wanted:
            await listing.prepare(ctx)
        if "5" in wanted:
            await history.prepare(ctx)
        if "8" in wanted:
            await search.prepare(ctx)
        if "4" in wanted or "5" in wanted or "8" in wanted:
            with bench.sql() as conn:
                from bench.seed import settle

                settle(conn)
            _log(f"seeded in {time.monotonic() - started:.0f} s")
        rows: list[Row] = []
        for number, case in CASES.items():
            if number in wanted:
                started = time.monotonic()
                rows += await case(ctx)
                _log(f"case {number} done in {time.monotonic() - started:.0f} s")
        if profile:
            for summary in await throughput.profile(ctx, PROFILES):
                _log(f"profile: {summary}")
            if "9" in wanted:  # ChatKit turns apart, to compare with the REST ones
                for summary in await chatkit.profile(ctx, PROFILES / "chatkit"):
                    _log(f"profile: {summary}")
    return sorted(rows, key=lambda row: int(row.case))  # stable: case order, then as made


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    sizes = QUICK if args.quick else FULL
    wanted = sorted({ALIASES.get(n.strip(), n.strip()) for n in args.cases.split(",")})
    output = args.output or (
        ARTIFACTS / "benchmarks-quick.md" if args.quick else Path("docs/benchmarks.md")
    )
    _raise_open_files_limit()
    info = report.machine()
    began = time.monotonic()
    _log("starting the stack")
    with BenchStack((ARTIFACTS / "logs").resolve()) as bench:
        _log(f"stack up in {time.monotonic() - began:.0f} s; running cases {', '.join(wanted)}")
        rows = uvloop.run(_run(bench, sizes, wanted, args.profile))
    seconds = time.monotonic() - began
    text = report.document(rows, info, quick=args.quick, seconds=seconds, sizes=_describe(sizes))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(report.table(rows))
    _log(f"wrote {output} ({seconds:.0f} s in all)")
    return 0


def _describe(sizes: Sizes) -> str:
    return (
        f"{sizes.runs} runs per figure, {sizes.latency_requests} requests per run and side,"
        f" {sizes.level_seconds:g} s per level, {sizes.total_conversations:,} conversations,"
        f" {sizes.streams:,} streams"
    )


if __name__ == "__main__":
    sys.exit(main())
