"""Reading the stack's logs: a line is written after its answer is sent, so poll for it."""

from __future__ import annotations

from chat_testkit.polling import poll_until
from devstack import Stack

WAIT_SECONDS = 5.0


async def log_line(stack: Stack, process: str, needle: str) -> str:
    """The last line of `process`'s log containing `needle`, waiting up to WAIT_SECONDS."""

    async def matching() -> list[str]:
        text = stack.log_path(process).read_text(errors="replace")
        return [line for line in text.splitlines() if needle in line]

    lines = await poll_until(
        matching, within=WAIT_SECONDS, message=f"{needle} not in the {process} log"
    )
    return lines[-1]
