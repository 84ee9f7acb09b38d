"""A tool call whose progress lines can be read while it runs (the turn pipeline shows
them to the user: ChatKit's progress updates).

    run = ToolRun(tools, call.name, call.arguments)
    async for text in run.progress():
        ...  # "Searching..." while the tool works
    result = run.result
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

from agent.tools.registry import ToolContext, ToolRegistry

_DONE = object()  # the queue's last item: the call ended


class ToolRun:
    def __init__(self, tools: ToolRegistry, name: str, arguments: str) -> None:
        self._tools, self._name, self._arguments = tools, name, arguments
        self._updates: asyncio.Queue[str | object] = asyncio.Queue()
        self.result = ""

    async def progress(self) -> AsyncGenerator[str, None]:
        """Runs the call, yielding its progress lines; `result` is set when this ends.
        Closing the iterator early cancels the call."""
        task = asyncio.create_task(self._call())
        try:
            while (update := await self._updates.get()) is not _DONE:
                assert isinstance(update, str)
                yield update
            self.result = await task
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _call(self) -> str:
        try:
            context = ToolContext(progress=self._report)
            return await self._tools.run(self._name, self._arguments, context)
        finally:
            self._updates.put_nowait(_DONE)

    async def _report(self, text: str) -> None:
        self._updates.put_nowait(text)
