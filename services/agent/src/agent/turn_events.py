"""What the turn pipeline (agent.turns) takes and gives: the turn `start_turn` stored,
the options of one turn, and the events a reply stream yields (ReplyDelta ... ReplyDone)."""

from __future__ import annotations

from dataclasses import dataclass

from chat.conversations.v1 import conversations_pb2 as pb

from agent.model import ModelError


@dataclass(frozen=True, slots=True)
class StartedTurn:
    user_message: pb.Message
    assistant_message: pb.Message  # `in_progress`, empty; or the first reply when replayed
    replayed: bool  # the idempotency key was used before: nothing new was stored
    # The latest HISTORY_LIMIT messages up to user_message, as StartTurn read them
    # (None if the server sent none: `reply` then loads them itself).
    history: list[pb.Message] | None = None


@dataclass(frozen=True, slots=True)
class TurnOptions:
    """What one turn asks of the model beyond the history (ChatKit's composer, the locale)."""

    model: str | None = None  # already checked against MODEL_ALLOWLIST; None: the default
    tool_choice: str | None = None  # a tool the first model call must call
    hints: tuple[str, ...] = ()  # system notes for this turn only (never stored)
    reasoning: bool = False  # yield ReplyReasoning (the REST stream has no event for it)


@dataclass(slots=True)
class ReplyDelta:
    text: str


@dataclass(slots=True)
class ReplyReasoning:
    text: str  # a piece of the model's reasoning summary (shown, never stored)


@dataclass(slots=True)
class ReplyToolCalls:
    message: pb.Message  # the assistant message, now `complete`, carrying its tool_calls


@dataclass(slots=True)
class ReplyToolResult:
    message: pb.Message  # a stored `tool` message


@dataclass(slots=True)
class ReplyStarted:
    message: pb.Message  # a new `in_progress` assistant message continuing after tool results


@dataclass(slots=True)
class ReplyToolProgress:
    text: str  # a running tool's progress line (shown, never stored)


@dataclass(slots=True)
class ReplyDone:
    message: pb.Message  # the final stored reply: `complete`, or `failed` with `error`
    error: ModelError | None = None


ReplyEvent = (
    ReplyDelta
    | ReplyReasoning
    | ReplyToolCalls
    | ReplyToolResult
    | ReplyStarted
    | ReplyToolProgress
    | ReplyDone
)
