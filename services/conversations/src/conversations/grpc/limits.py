"""The gRPC server's message size limits, set deliberately (not left to gRPC's 4 MiB
defaults), and the checks that keep responses under them with a clear answer.

Receive: the largest request a valid call can make is an UpdateMessage with a reply of
INTERNAL_MAX_CHARS characters (up to 4 UTF-8 bytes each), tool calls and a payload at
their caps; anything bigger cannot be valid, so gRPC refuses it before we parse it.

Send: a history page is at most 1000 messages, and assistant content may be long, so a
page can outgrow any fixed limit. 16 MiB is far above a normal history (the agent asks
for HISTORY_LIMIT = 50) yet bounded; a ListMessages page over it is INVALID_ARGUMENT
("ask for fewer"), and StartTurn, whose turn is already stored, drops the oldest history
messages instead of failing (`history_truncated`), so a reply is never left without its
agent. gRPC would otherwise fail the call itself with a less helpful RESOURCE_EXHAUSTED.
"""

from __future__ import annotations

from typing import Final, TypeVar

from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import InvalidInput
from google.protobuf.message import Message

from conversations.checks import INTERNAL_MAX_CHARS, TOOL_CALLS_MAX_BYTES

M = TypeVar("M", bound=Message)

MAX_SEND_BYTES: Final = 16 * 1024 * 1024
# Field tags, ids, times, usage, status: generous room around the capped fields.
_ENVELOPE_BYTES: Final = 64 * 1024
# A repeated message field adds at most a tag byte and a 5-byte length to each item.
_ITEM_OVERHEAD: Final = 6


def max_receive_bytes(payload_max_bytes: int) -> int:
    return 4 * INTERNAL_MAX_CHARS + TOOL_CALLS_MAX_BYTES + payload_max_bytes + _ENVELOPE_BYTES


def bounded(response: M, what: str, max_bytes: int = MAX_SEND_BYTES) -> M:
    """The response, or InvalidInput when it would be over the send limit."""
    if response.ByteSize() > max_bytes:
        raise InvalidInput(f"{what} is larger than {max_bytes} bytes; ask for fewer")
    return response


def fit_history(
    response: pb.StartTurnResponse | pb.StartReplyResponse, max_bytes: int = MAX_SEND_BYTES
) -> None:
    """Drops the oldest history messages (never the last, the user message) until the
    response fits, and marks it `history_truncated`."""
    excess = response.ByteSize() - max_bytes
    if excess <= 0:
        return
    drop = 0
    for item in response.history[:-1]:
        if excess <= 0:
            break
        excess -= item.ByteSize() + _ITEM_OVERHEAD
        drop += 1
    del response.history[:drop]
    response.history_truncated = True
    bounded(response, "the turn")
