"""Input rules shared by both doors (REST and gRPC go through `store`, which applies
these), and the opaque cursor of the conversation list."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID

import orjson
from chat_common.errors import InvalidInput
from chat_common.limits import IDEMPOTENCY_KEY_MAX_CHARS

from conversations.models import STATUSES, TITLE_MAX_CHARS, ConversationRecord

# Assistant, tool and system content is written by our own code, not typed by a person:
# it gets a generous cap instead of MESSAGE_MAX_CHARS (a runaway reply still has a bound).
INTERNAL_MAX_CHARS: Final = 1_000_000
# MESSAGE_PAYLOAD_MAX_BYTES' default (store functions called without the setting get it).
DEFAULT_PAYLOAD_MAX_BYTES: Final = 32_768
# Tool calls come from the model (bounded by its output tokens): generous but finite.
TOOL_CALLS_MAX_BYTES: Final = 256 * 1024
# A JSON \u0000 escape (an odd run of backslashes before it): Postgres cannot store it.
_JSON_NUL: Final = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
AUTO_TITLE_CHARS: Final = 60


def check_limit(limit: int, max_limit: int) -> None:
    if not 1 <= limit <= max_limit:
        raise InvalidInput(f"limit must be 1..{max_limit}")


def check_content(content: str, *, user_authored: bool, max_chars: int) -> None:
    if "\x00" in content:
        raise InvalidInput("content must not contain NUL characters")
    if user_authored and not content.strip():
        raise InvalidInput("content must not be empty")
    limit = max_chars if user_authored else INTERNAL_MAX_CHARS
    if len(content) > limit:
        raise InvalidInput(f"content is longer than {limit} characters")


def valid_title(title: str | None) -> str | None:
    if title is not None and (not 0 < len(title) <= TITLE_MAX_CHARS or "\x00" in title):
        raise InvalidInput(f"title must be 1..{TITLE_MAX_CHARS} characters")
    return title


def valid_status(status: str) -> str:
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    return status


def valid_tokens(count: int) -> int:
    if not 0 <= count < 2**31:
        raise InvalidInput("token counts must be non-negative")
    return count


# Longest model name stored with a reply's usage (real ones are tens of characters).
MODEL_MAX_CHARS: Final = 200


def valid_model(model: str | None) -> str | None:
    """A model name to store ("" and None: unknown, nothing stored)."""
    if not model:
        return None
    if len(model) > MODEL_MAX_CHARS or "\x00" in model:
        raise InvalidInput(f"model: at most {MODEL_MAX_CHARS} characters, no NUL")
    return model


def valid_json(value: str | None, kind: type, name: str, *, max_bytes: int) -> str | None:
    """The JSON text to store ("" and None mean none), checked to be a `kind` value of at
    most `max_bytes` UTF-8 bytes with no NUL in it."""
    if not value:
        return None
    # The length in characters first: a huge value is refused without encoding it.
    if len(value) > max_bytes or len(value.encode()) > max_bytes:
        raise InvalidInput(f"{name} is larger than {max_bytes} bytes")
    if "\x00" in value or _JSON_NUL.search(value):
        raise InvalidInput(f"{name} must not contain NUL characters")
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise InvalidInput(f"{name} must be JSON") from None
    if not isinstance(parsed, kind):
        raise InvalidInput(f"{name} must be a JSON {'array' if kind is list else 'object'}")
    return value


def valid_idempotency_key(key: str | None) -> str | None:
    if key is not None and not 0 < len(key) <= IDEMPOTENCY_KEY_MAX_CHARS:
        raise InvalidInput(f"idempotency key must be 1..{IDEMPOTENCY_KEY_MAX_CHARS} characters")
    if key is not None and "\x00" in key:
        raise InvalidInput("idempotency key must not contain NUL characters")
    return key


def auto_title(content: str) -> str | None:
    """A title from the first words of a user message (about AUTO_TITLE_CHARS chars)."""
    words = " ".join(content.split())
    if len(words) <= AUTO_TITLE_CHARS:
        return words or None
    cut = words[:AUTO_TITLE_CHARS]
    if " " in cut[AUTO_TITLE_CHARS // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


def encode_cursor(last: ConversationRecord) -> str:
    micros = epoch_micros(last.updated_at)
    raw = f"{micros}.{last.id.replace('-', '')}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# Matched with fullmatch: `match` with `$` would also take a trailing newline.
_CURSOR = re.compile(r"(-?\d{1,20})\.([0-9a-f]{32})")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The (updated_at, id) a cursor continues after; InvalidInput for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        match = _CURSOR.fullmatch(base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii"))
        if len(cursor) > 100 or match is None:
            raise ValueError
        updated_at = from_epoch_micros(int(match.group(1)))
        return updated_at, UUID(hex=match.group(2))
    except (ValueError, UnicodeError, binascii.Error, OverflowError):
        raise InvalidInput("invalid cursor") from None


def epoch_micros(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_epoch_micros(micros: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
