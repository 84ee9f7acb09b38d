"""One markdown table of every figure, the machine it ran on, and the notes on what misses."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ANALYSIS = Path(__file__).with_name("analysis.md")


@dataclass(frozen=True)
class Row:
    """One figure: the median over runs of the stack's value and of its baseline."""

    case: str
    figure: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    target: str = ""  # e.g. "added < 10 ms"
    met: bool | None = None  # None: no target
    note: str = ""

    @property
    def added(self) -> float | None:
        return None if self.baseline is None else self.value - self.baseline

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline


def number(value: float) -> str:
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _with_unit(value: float, unit: str) -> str:
    return f"{number(value)} {unit}".strip()


def _cells(row: Row) -> list[str]:
    baseline = added = ratio = ""
    if row.baseline is not None and row.added is not None:
        baseline = _with_unit(row.baseline, row.unit)
        if row.baseline_label:
            baseline += f" ({row.baseline_label})"
        added = ("+" if row.added >= 0 else "") + _with_unit(row.added, row.unit)
    if row.ratio is not None:
        ratio = f"{row.ratio:.2f}x"
    target = row.target
    if row.met is not None:
        target = f"{target} {'✓' if row.met else '✗'}"
    return [
        row.case,
        row.figure,
        _with_unit(row.value, row.unit),
        baseline,
        added,
        ratio,
        target,
        row.note,
    ]


HEADER = ["case", "figure", "stack", "baseline (same run)", "added", "ratio", "target", "notes"]


def table(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        cells = [cell.replace("|", "\\|") for cell in _cells(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0]
        if (done.stdout or done.stderr)
        else "?"
    )


def machine() -> dict[str, str]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "CPU": cpu,
        "cores": f"{len(os.sched_getaffinity(0))} usable of {os.cpu_count()}",
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "nginx": _first_line(["nginx", "-v"]).removeprefix("nginx version: "),
        "load average at start": load,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def document(
    rows: Sequence[Row], info: dict[str, str], *, quick: bool, seconds: float, sizes: str
) -> str:
    missed = [f"- case {r.case}, {r.figure}: {r.target}" for r in rows if r.met is False]
    parts = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`"
        + (" --quick`: a smoke run, sizes far below the real ones)" if quick else ")")
        + f"; the run took {seconds:.0f} s. Every figure is the median of several runs, each"
        " with its baseline measured in the same run. Lower is better except throughput.",
        "",
        "## Machine",
        "",
        *[f"- {key}: {value}" for key, value in info.items()],
        f"- sizes: {sizes}",
        "",
        "## Results",
        "",
        table(rows),
        "",
        "## Targets missed in this run",
        "",
        *(missed or ["- none"]),
        "",
    ]
    if ANALYSIS.exists():
        parts += [ANALYSIS.read_text().rstrip(), ""]
    return "\n".join(parts)
