"""A model that plays a script, for in-process tests of the turn pipeline: each call
(a tool round is another call) plays the next script, and records what it was sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from agent.model import Finish, ModelError, ModelEvent, TextDelta, ToolCall, Usage


class Stall:
    """A point in a script where the model thinks until the stream is closed or cancelled."""


Step = ModelEvent | ModelError | Stall


@dataclass
class ModelCall:
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    model: str | None = None  # the turn's chosen model (None: the configured one)
    tool_choice: str | None = None


class ScriptedModel:
    """Plays one script per model call (a tool round is another call), waiting `pause`
    seconds before each step; a ModelError in a script is raised where it stands."""

    def __init__(self, *scripts: Sequence[Step], pause: float = 0.0) -> None:
        self.scripts = scripts
        self.pause = pause
        self.calls: list[ModelCall] = []  # what each call was sent

    async def stream(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        tools: Sequence[dict[str, Any]] = (),
        model: str | None = None,
        tool_choice: str | None = None,
    ) -> AsyncIterator[ModelEvent]:
        assert len(self.calls) < len(self.scripts), "the model was called more than scripted"
        script = self.scripts[len(self.calls)]
        self.calls.append(ModelCall(list(messages), list(tools), model, tool_choice))
        for step in script:
            await asyncio.sleep(self.pause)
            if isinstance(step, ModelError):
                raise step
            if isinstance(step, Stall):
                await asyncio.Event().wait()
                continue
            yield step


def says(*parts: str, input_tokens: int = 7, output_tokens: int = 3) -> list[Step]:
    """A model call that answers `parts` as text deltas and stops."""
    return [*(TextDelta(p) for p in parts), Usage(input_tokens, output_tokens), Finish("stop")]


def calls_tool(name: str, arguments: str = "{}", call_id: str = "call_1") -> list[Step]:
    """A model call that only asks for one tool."""
    return [ToolCall(call_id, name, arguments), Finish("tool_calls")]
