"""`--profile`: where the CPU of a turn goes, sampled with py-spy while case 3's load runs.

For each Python service we keep py-spy's collapsed stacks (`<name>.folded`, for any flame
graph tool) and a summary (`<name>.txt`): the functions with the most samples on the CPU,
by own time and by inclusive time. docs/benchmarks.md explains what they show.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

PROFILED = ("agent", "conversations", "auth")
OUR_PACKAGES = {"agent", "conversations", "auth", "chat_common"}
RATE = 200  # samples per second
TOP = 25
_LINE = re.compile(r":\d+\)$")


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise RuntimeError("py-spy is missing: `uv sync --all-packages` installs it (dev group)")
    return found


async def record(
    pids: dict[str, int], seconds: float, out: Path, load: Callable[[], Awaitable[object]]
) -> list[Path]:
    """Runs `load()` while py-spy samples each pid for `seconds`; returns the summaries."""
    _prepare(out)
    spies = {
        name: await asyncio.create_subprocess_exec(
            _py_spy(),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            str(RATE),
            "--format",
            "raw",
            "--gil",  # only the thread holding the GIL: Python's own CPU, no idle waits
            "--output",
            str(out / f"{name}.folded"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    }
    await load()
    for spy in spies.values():
        await spy.wait()
    return _write_summaries(out, list(spies))


def _prepare(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.folded"):
        old.unlink()


def _write_summaries(out: Path, names: list[str]) -> list[Path]:
    summaries = []
    for name in names:
        folded = out / f"{name}.folded"
        if folded.exists():
            summary = out / f"{name}.txt"
            summary.write_text(summarize(name, folded.read_text()))
            summaries.append(summary)
    return summaries


def _frame(raw: str) -> tuple[str, str]:
    """`Class.function (package/module.py:123)` -> (`Class.function (package/module.py)`,
    `package`); py-spy names files relative to their import root."""
    name, _, where = raw.partition(" (")
    path = _LINE.sub("", where).rstrip(")")
    package = path.split("/", 1)[0] if "/" in path else path.removesuffix(".py")
    return f"{name} ({path})", package


def summarize(name: str, folded: str) -> str:
    """Own time per package and per function, and the inclusive time of our own code."""
    own: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    for line in folded.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")]
        total += count
        own[frames[-1][0]] += count
        by_package[frames[-1][1]] += count
        for frame in {f for f, package in frames[2:] if package in OUR_PACKAGES}:
            ours[frame] += count
    if not total:
        return f"{name}: no samples\n"

    def block(title: str, counter: Counter[str]) -> list[str]:
        lines = [title]
        for frame, count in counter.most_common(TOP):
            lines.append(f"  {100 * count / total:5.1f}%  {frame}")
        return [*lines, ""]

    return "\n".join(
        [
            f"{name}: {total} samples on the CPU at {RATE}/s",
            "",
            *block("own time by package:", by_package),
            *block("own time by function:", own),
            *block("inclusive time of our code:", ours),
        ]
    )
