"""A new thread's title written by the model (TITLE_FROM_MODEL), from its first message."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from agent.model import ModelError, ModelEvent, TextDelta

log = logging.getLogger(__name__)

# The offline model knows this instruction and answers it with a deterministic title.
TITLE_INSTRUCTION = (
    "Write a title of at most six words for a conversation that starts with the user's"
    " message below. Answer with the title only, without quotes."
)
MAX_TITLE_CHARS = 80


class StreamsText(Protocol):
    def stream(self, messages: Sequence[dict[str, Any]]) -> AsyncIterator[ModelEvent]: ...


async def model_title(model: StreamsText, first_message: str) -> str | None:
    """The model's title, or None if it gives none (the first-words title stays)."""
    messages = [
        {"role": "system", "content": TITLE_INSTRUCTION},
        {"role": "user", "content": first_message[:2000]},
    ]
    parts: list[str] = []
    try:
        async for event in model.stream(messages):
            if isinstance(event, TextDelta):
                parts.append(event.text)
    except ModelError as exc:
        log.info("no title from the model: %s", exc.detail)
        return None
    title = " ".join("".join(parts).split()).strip("\"'“” ")
    return title[:MAX_TITLE_CHARS] or None
