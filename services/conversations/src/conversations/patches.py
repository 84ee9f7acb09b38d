"""What an update changes, as one value each door builds and `store` applies: a field
left UNSET stays as it is; where a field can be cleared, None clears it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


class Unset:
    """Marks "leave as it is" where None means "clear"."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset()


@dataclass(frozen=True, slots=True)
class ConversationPatch:
    title: str | Unset | None = UNSET  # None: untitled until the next user message
    metadata_json: str | Unset | None = UNSET


@dataclass(frozen=True, slots=True)
class MessagePatch:
    """Content, status and usage cannot be cleared: None leaves them as they are."""

    content: str | None = None
    status: str | None = None
    tool_calls_json: str | Unset | None = UNSET
    payload_json: str | Unset | None = UNSET
    input_tokens: int | None = None
    output_tokens: int | None = None
    model: str | None = None  # the model the usage is of (the usage ledger)

    @property
    def is_heartbeat(self) -> bool:
        """Changes nothing: it only says the reply is still being written."""
        return self == HEARTBEAT


HEARTBEAT: Final = MessagePatch()
