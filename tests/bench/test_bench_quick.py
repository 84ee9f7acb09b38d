"""`python -m bench --quick` keeps working: a whole stack, every case, one sane table."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CASES = {str(n) for n in range(1, 12)}  # every case of the default run
NUMBER = re.compile(r"^-?[\d,]+(\.\d+)?")


def _rows(markdown: str) -> list[list[str]]:
    """The cells of each body row of the results table."""
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert lines and lines[0].startswith("| case | figure | stack"), markdown
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[1:]]


def _value(cell: str) -> float:
    match = NUMBER.match(cell)
    assert match, f"not a number: {cell!r}"
    return float(match.group(0).replace(",", ""))


@pytest.mark.process
@pytest.mark.timeout(300)
def test_quick_bench_writes_a_table_with_every_case_and_sane_numbers(tmp_path: Path) -> None:
    output = tmp_path / "benchmarks.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    markdown = output.read_text()
    assert "## Machine" in markdown and "Python" in markdown
    rows = _rows(markdown)
    assert {row[0] for row in rows} == CASES
    for case, figure, stack, baseline, _added, ratio, target, _notes in rows:
        value = _value(stack)
        if "errors" in figure:
            assert value == 0, f"case {case}: {figure} = {stack}"
        else:
            assert value > 0, f"case {case}: {figure} = {stack}"
        if baseline and _value(baseline) > 0:
            assert ratio.endswith("x"), (figure, baseline, ratio)
        if target:
            assert target.endswith(("✓", "✗")), (figure, target)
    # The table printed is the table written.
    assert _rows(done.stdout) == rows
