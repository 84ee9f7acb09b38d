"""In process: a running tool's progress lines (ToolContext.progress) read while it runs."""

from __future__ import annotations

import asyncio
from typing import Any

from agent.tools import Tool, ToolContext, ToolRegistry
from agent.tools.progress import ToolRun


async def reads_two_pages(_: dict[str, Any], context: ToolContext) -> str:
    await context.progress("Reading page 1")
    await context.progress("Reading page 2")
    return "two pages read"


TOOLS = ToolRegistry([Tool("read", "Reads.", reads_two_pages)])


async def test_tool_run_yields_the_progress_then_holds_the_result() -> None:
    run = ToolRun(TOOLS, "read", "{}")

    assert [text async for text in run.progress()] == ["Reading page 1", "Reading page 2"]
    assert run.result == "two pages read"


async def test_closing_a_tool_run_early_cancels_the_call() -> None:
    cancelled = asyncio.Event()

    async def waits(_: dict[str, Any], context: ToolContext) -> str:
        await context.progress("started")
        try:
            await asyncio.sleep(60)
        finally:
            cancelled.set()
        return "never"

    progress = ToolRun(ToolRegistry([Tool("waits", "Waits.", waits)]), "waits", "{}").progress()
    assert await anext(progress) == "started"
    await progress.aclose()

    assert cancelled.is_set()
