"""What the processes of the stack cost, read from /proc: CPU time and resident memory.

CPU time (utime + stime of every process of a group, summed) is the steadiest figure on a
shared machine: it does not depend on how long the process waited for a core.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces)."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds the process has used so far (None once it is gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    # After the name: state(0) ppid(1) ... utime(11) stime(12), in clock ticks.
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def rss_bytes(pid: int) -> int:
    try:
        resident = (PROC / str(pid) / "statm").read_text().split()[1]
    except (OSError, IndexError):
        return 0
    return int(resident) * PAGE_BYTES


def pss_bytes(pid: int) -> int:
    """Proportional set size: shared pages split between their users, so a group's sum
    counts Postgres's shared buffers once (a sum of RSS counts them per backend)."""
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def descendants(root: int) -> list[int]:
    """`root` and every process below it (nginx workers, helpers a service spawned)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


# A group's current pids: a process tree, or Postgres backends found by a query.
PidSource = Callable[[], Iterable[int]]


@dataclass
class CpuWindow:
    """CPU seconds each group spent between `start()` and `stop()`.

    A process that appears during the window counts from zero; one that ends during it
    keeps what it had at the last look (so sample pids before it might go).
    """

    groups: dict[str, PidSource]
    _start: dict[str, dict[int, float]] = field(default_factory=dict)
    _last: dict[str, dict[int, float]] = field(default_factory=dict)

    def _read(self) -> dict[str, dict[int, float]]:
        seen: dict[str, dict[int, float]] = {}
        for name, source in self.groups.items():
            seen[name] = {pid: t for pid in source() if (t := cpu_seconds(pid)) is not None}
        return seen

    def start(self) -> None:
        self._start = self._read()
        self._last = {name: dict(pids) for name, pids in self._start.items()}

    def look(self) -> None:
        """Notes the CPU of every current pid (call now and then during a long window)."""
        for name, pids in self._read().items():
            self._last.setdefault(name, {}).update(pids)

    def stop(self) -> dict[str, float]:
        self.look()
        spent: dict[str, float] = {}
        for name, pids in self._last.items():
            before = self._start.get(name, {})
            spent[name] = sum(t - before.get(pid, 0.0) for pid, t in pids.items())
        return spent


def group_rss(source: PidSource, proportional: bool = False) -> int:
    measure = pss_bytes if proportional else rss_bytes
    return sum(measure(pid) for pid in source())


@dataclass
class RssPeaks:
    """The highest resident memory each group reached across `sample()` calls."""

    groups: dict[str, PidSource]
    proportional: frozenset[str] = frozenset()  # groups measured by PSS, not RSS
    peaks: dict[str, int] = field(default_factory=dict)

    def sample(self) -> None:
        for name, source in self.groups.items():
            size = group_rss(source, name in self.proportional)
            self.peaks[name] = max(self.peaks.get(name, 0), size)
