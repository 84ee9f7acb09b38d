"""Reading the stack's logs: a line is written after its answer is sent, so poll for it."""

from __future__ import annotations

import asyncio

from devstack import Stack

WAIT_SECONDS = 5.0


async def log_line(stack: Stack, process: str, needle: str) -> str:
    """The last line of `process`'s log containing `needle`, waiting up to WAIT_SECONDS."""
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                text = stack.log_path(process).read_text(errors="replace")
                lines = [line for line in text.splitlines() if needle in line]
                if lines:
                    return lines[-1]
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"{needle} not in the {process} log") from None
