"""Percentiles of one run, and the median of several runs (what every figure reports)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; 0.0 for no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median_of_runs(runs: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Per key, the median over runs (keys missing from a run are skipped for it)."""
    keys = {key for run in runs for key in run}
    return {key: statistics.median([run[key] for run in runs if key in run]) for key in keys}


def ms(seconds: float) -> float:
    return seconds * 1000.0
