"""What the offline model answers: the deterministic reply and the markers that bend it.

API-neutral: `chat_completions.py` and `responses.py` turn their request into a `Prompt`, ask
`plan()` what to do, and render the `Plan` in their own wire format.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

_MARKER = re.compile(
    r"\[\[(slow|words|fail|fail-times|stall|stall-after|cut-after|tool|echo)(?::([^\]]*))?\]\]"
)
# A word with its leading whitespace; trailing whitespace sticks to the last word, so the deltas
# always join back to exactly the reply text (newlines included).
_WORD = re.compile(r"\s*\S+(?:\s+\Z)?")
# Remembered [[fail-times]] counts are dropped past this many distinct messages (memory bound).
_MAX_REMEMBERED = 10_000
# The agent's title request (TITLE_FROM_MODEL) starts its system prompt with this: the
# answer is the first words of the user's message, so tests know the title in advance.
TITLE_INSTRUCTION = "Write a title of at most six words"
TITLE_WORDS = 6
# [[words:K]] is capped so a typo can't eat the memory.
_MAX_WORDS = 100_000

ERROR_TEXT = {
    400: ("invalid_request_error", None, "The offline model was asked to fail with 400."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided (offline)."),
    404: ("invalid_request_error", None, "The offline model was asked to fail with 404."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for the offline model."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


@dataclass(slots=True)
class Prompt:
    """What a request sent the model, whatever the API."""

    count: int  # every message / input item, system prompt (or `instructions`) included
    last_user: str  # text of the last user message ("" when there is none)
    input_words: int
    tools_offered: bool
    # (tool name, tool output) when the LAST input is a tool result
    tool_result: tuple[str, str] | None = None
    max_output_tokens: int | None = None  # the request's bound: a longer reply is cut there
    system: str = ""  # the system messages' (or `instructions`') text
    model: str = ""
    tool_choice: str = ""  # the function the request forces, if any


@dataclass(slots=True)
class Plan:
    """What to answer, and how to pace and break the answer."""

    text: str = ""
    deltas: list[str] = field(default_factory=list)
    tool_call: str | None = None  # a tool name: answer with a call to it (arguments `{}`)
    echo: bool = False  # [[echo]]: also say what came beside the messages (system, model)
    delay: float = 0.0  # seconds before each delta
    fail_code: int | None = None
    stall_after: int | None = None  # stall once this many deltas went out
    cut_after: int | None = None  # drop the connection once this many deltas went out
    input_tokens: int = 0
    truncated: bool = False  # cut at the request's max output tokens, as a real model would

    @property
    def output_tokens(self) -> int:
        return 1 if self.tool_call else len(self.deltas)

    @property
    def instant(self) -> bool:
        return not self.delay and self.stall_after is None and self.cut_after is None


class FailureCounter:
    """Counts requests per exact last user message, for `[[fail-times:K:CODE]]`."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def bump(self, message: str) -> int:
        if len(self._seen) >= _MAX_REMEMBERED and message not in self._seen:
            self._seen.clear()
        n = self._seen.get(message, 0) + 1
        self._seen[message] = n
        return n


def text_of(content: Any) -> str:
    """Text of a message content: a string, or a list of text / input_text / output_text parts;
    an image part reads "[image]", so a reply says what the model got."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_part_text(p) for p in content if isinstance(p, dict))
    return ""


def _part_text(part: dict[str, Any]) -> str:
    if part.get("type") in ("image_url", "input_image"):
        return " [image]"
    return part["text"] if isinstance(part.get("text"), str) else ""


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def _int(value: str | None, default: int | None = None) -> int | None:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _error_code(value: str) -> int | None:
    code = _int(value)
    return code if code is not None and 400 <= code <= 599 else None


def plan(prompt: Prompt, *, tokens_per_second: float, failures: FailureCounter) -> Plan:
    out = Plan(input_tokens=prompt.input_words)
    rate, extra_words = _read_markers(out, prompt.last_user, tokens_per_second, failures)
    out.delay = 1.0 / rate if rate > 0 else 0.0
    out.tool_call = out.tool_call or prompt.tool_choice or None  # a forced tool is called
    if prompt.tool_result is not None:
        tool, result = prompt.tool_result
        # No matching call in the history: fall back on the marker's name.
        out.text = f"Tool {tool or out.tool_call or 'tool'} said: {result}"
        out.tool_call = None
    elif out.tool_call and prompt.tools_offered:
        return out
    elif prompt.system.startswith(TITLE_INSTRUCTION):
        out.tool_call = None
        title = " ".join(prompt.last_user.split()[:TITLE_WORDS])
        out.text = title[:1].upper() + title[1:]
    else:
        out.tool_call = None
        out.text = f'You said: "{prompt.last_user}". I received {prompt.count} messages.'
        if out.echo:
            out.text += f' System: "{prompt.system}". Model: {prompt.model}.'
            out.text += f" Tool choice: {prompt.tool_choice or 'none'}."
    if extra_words > 0:
        out.text += "".join(f" w{i}" for i in range(1, min(extra_words, _MAX_WORDS) + 1))
    out.deltas = words(out.text)
    limit = prompt.max_output_tokens
    if limit is not None and 0 < limit < len(out.deltas):
        out.deltas = out.deltas[:limit]
        out.text = "".join(out.deltas)
        out.truncated = True
    return out


def _read_markers(
    out: Plan, message: str, rate: float, failures: FailureCounter
) -> tuple[float, int]:
    """Set the plan's failure, stall, cut and tool from the markers; return (rate, extra words)."""
    extra_words = 0
    for name, arg in _MARKER.findall(message):
        if name == "slow":
            with contextlib.suppress(ValueError):
                rate = float(arg)
        elif name == "words":
            extra_words = _int(arg, 0) or 0
        elif name == "fail":
            out.fail_code = _error_code(arg) or out.fail_code
        elif name == "fail-times":
            times, _, code = arg.partition(":")
            k, c = _int(times), _error_code(code)
            if k is not None and c is not None and failures.bump(message) <= k:
                out.fail_code = out.fail_code or c
        elif name == "stall":
            out.stall_after = 0
        elif name == "stall-after":
            out.stall_after = _int(arg, out.stall_after)
        elif name == "cut-after":
            out.cut_after = _int(arg, out.cut_after)
        elif name == "tool" and arg:
            out.tool_call = arg
        elif name == "echo":
            out.echo = True
    return rate, extra_words


def positive_int(value: Any) -> int | None:
    """A request's token bound, if it is a usable one."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def error_body(code: int) -> dict[str, Any]:
    """An OpenAI-style error body for `[[fail:CODE]]` and for bad requests."""
    kind, err_code, message = ERROR_TEXT.get(
        code, ("server_error", None, f"The offline model was asked to fail with {code}.")
    )
    return {"error": {"message": message, "type": kind, "param": None, "code": err_code}}
