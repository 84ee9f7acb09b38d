"""What the fault suite measured, as the table of docs/reliability.md."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.faults.load import Outcome

COMMAND = {
    True: "make faults",
    False: "FAULTS_REPORT=docs/reliability.md uv run pytest tests/faults",
}


KNOWN = """
Known: a POST nginx sends on a keepalive connection at the moment a stopping agent closes
it gets a 502 (nginx never resends a POST it has sent). Nothing is stored for it, so the
client may retry; the rolling-restart row counts such answers under 5xx/cut and the test
asserts only that no accepted reply is cut.

Pools check each connection on checkout (conversations: psycopg_pool `check=`; auth:
SQLAlchemy `pool_pre_ping`): +60-150 us wall, ~+60 us CPU per checkout on a local server,
so that after a Postgres restart no request fails on a stale connection.
"""


@dataclass
class Row:
    fault: str
    count: int = 0
    attempted: int = 0
    lost: int = 0
    stuck: int = 0
    server_errors: int = 0
    max_recovery: float = 0.0


@dataclass
class Report:
    rows: dict[str, Row] = field(default_factory=dict)

    def add(self, fault: str, outcome: Outcome, recovery: float) -> None:
        """One occurrence of `fault` and what it did to the turns around it."""
        row = self.rows.setdefault(fault, Row(fault))
        row.count += 1
        row.attempted += outcome.attempted
        row.lost += outcome.lost
        row.stuck += outcome.stuck
        row.server_errors += outcome.server_errors
        row.max_recovery = max(row.max_recovery, recovery)

    def markdown(self, *, full: bool) -> str:
        form = "full" if full else "short"
        lines = [
            "# Reliability: the fault suite",
            "",
            f"Measured by `{COMMAND[full]}` (tests/faults, the {form} form; `make test` runs",
            "the short form). A stack of its own: two agent replicas, one conversations replica",
            "reached through a TCP fault proxy, an embedded Postgres, reply lease 4 s.",
            "",
            "- lost: user messages whose turn was accepted (the stream echoed them) that are",
            "  not stored afterwards;",
            "- stuck: replies still `in_progress` past the lease and one sweep;",
            "- 5xx/cut: turns answered 5xx or dropped (expected only inside the fault);",
            "- recovery: from the fault until every reply is final and a new turn succeeds.",
            "",
            "| fault | count | turns attempted | lost | stuck | 5xx/cut | max recovery (s) |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in self.rows.values():
            lines.append(
                f"| {r.fault} | {r.count} | {r.attempted} | {r.lost} | {r.stuck} "
                f"| {r.server_errors} | {r.max_recovery:.1f} |"
            )
        return "\n".join(lines) + "\n" + KNOWN
