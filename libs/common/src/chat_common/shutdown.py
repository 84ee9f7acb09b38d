"""One stop deadline per process, from the signal that asked it to stop.

A stop drains in steps (HTTP requests in flight, then the lifespan's own work: background
replies, the gRPC server). Each step waits only for the time left until the one deadline,
so SHUTDOWN_GRACE_SECONDS bounds the whole stop, not each step in turn.
"""

from __future__ import annotations

import time

_deadline: float | None = None


def begin(grace_seconds: float) -> None:
    """Starts the clock (a second signal does not move the deadline)."""
    global _deadline
    if _deadline is None:
        _deadline = time.monotonic() + grace_seconds


def seconds_left(grace_seconds: float) -> float:
    """Time left to the deadline; the whole grace when no stop signal came (a lifespan
    ended another way, e.g. in tests)."""
    if _deadline is None:
        return grace_seconds
    return max(0.0, _deadline - time.monotonic())
