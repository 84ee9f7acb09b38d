"""What the model gets of a user message's attachments (ChatKit files, stored by the
conversations service): images as image input (a data URL), text and PDF as text it can
read (PDF through pypdf), each file's text bounded in characters. A file never changes
once uploaded, so what was made of it is kept in a PartCache: a turn fetches and parses
only the files it has not seen yet (the history brings the same ones back every turn)."""

from __future__ import annotations

import asyncio
import base64
import io
import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Final
from uuid import UUID

import orjson
from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import NotFound
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from agent.conversations_client import ConversationsClient

log = logging.getLogger(__name__)
Json = dict[str, Any]

IMAGE_TYPES: Final = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
PDF_TYPE: Final = "application/pdf"
# The text of one file the model gets (the rest is cut, and the model is told so).
TEXT_MAX_CHARS: Final = 50_000
# What a process keeps of files already read (characters of parts: an image's data URL
# is ~1.37x its bytes).
PART_CACHE_MAX_CHARS: Final = 64 * 1024 * 1024


class PartCache:
    """The model parts of files already read, by (user, file id); the least recently used
    go once they hold more than `max_chars`."""

    def __init__(self, max_chars: int = PART_CACHE_MAX_CHARS) -> None:
        self._parts: OrderedDict[tuple[UUID, str], Json] = OrderedDict()
        self._chars = 0
        self._max_chars = max_chars

    def get(self, key: tuple[UUID, str]) -> Json | None:
        part = self._parts.get(key)
        if part is not None:
            self._parts.move_to_end(key)
        return part

    def put(self, key: tuple[UUID, str], part: Json) -> None:
        size = _chars(part)
        if size > self._max_chars or key in self._parts:
            return
        self._parts[key] = part
        self._chars += size
        while self._chars > self._max_chars:
            _, evicted = self._parts.popitem(last=False)
            self._chars -= _chars(evicted)


def _chars(part: Json) -> int:
    return len(part.get("text") or part.get("image_url", {}).get("url", ""))


def attachment_ids(message: pb.Message) -> list[str]:
    """The ids of the files a stored user message (a ChatKit item) was sent with."""
    if message.role != "user" or '"attachments"' not in message.payload_json:
        return []
    item = orjson.loads(message.payload_json).get("item")
    found = item.get("attachments") if isinstance(item, dict) else None
    return [a["id"] for a in found or () if isinstance(a, dict) and isinstance(a.get("id"), str)]


async def attachment_parts(
    client: ConversationsClient,
    user_id: UUID,
    stored: Sequence[pb.Message],
    cache: PartCache | None = None,
) -> dict[str, list[Json]]:
    """Message id -> the content parts of its files, for the messages that have some."""
    parts: dict[str, list[Json]] = {}
    for message in stored:
        for attachment_id in attachment_ids(message):
            part = cache.get((user_id, attachment_id)) if cache else None
            if part is None:
                part = await _part(client, user_id, attachment_id, cache)
            parts.setdefault(message.id, []).append(part)
    return parts


async def _part(
    client: ConversationsClient, user_id: UUID, attachment_id: str, cache: PartCache | None
) -> Json:
    try:
        record = await client.get_attachment(user_id, attachment_id, with_content=True)
    except NotFound:
        return _text_part("(an attached file that was deleted since)")  # not kept
    part = await _file_part(record)
    if cache is not None:
        cache.put((user_id, attachment_id), part)
    return part


async def _file_part(record: pb.Attachment) -> Json:
    if record.mime_type in IMAGE_TYPES:
        data = base64.b64encode(record.content).decode("ascii")
        return {"type": "image_url", "image_url": {"url": f"data:{record.mime_type};base64,{data}"}}
    if record.mime_type == PDF_TYPE:  # parsing is CPU: off the event loop
        text = await asyncio.to_thread(pdf_text, record.content)
    else:
        text = _utf8(record.content)
    if len(text) > TEXT_MAX_CHARS:
        text = text[:TEXT_MAX_CHARS] + f"\n[… cut at {TEXT_MAX_CHARS} characters]"
    return _text_part(f"Attached file {record.name} ({record.mime_type}):\n{text}")


def _text_part(text: str) -> Json:
    # Leading blank line: the parts read as paragraphs after the message's own text.
    return {"type": "text", "text": f"\n\n{text}"}


def _utf8(content: bytes) -> str:
    return content.decode("utf-8", errors="replace")


def pdf_text(content: bytes) -> str:
    """The text of a PDF's pages (pypdf), stopping once there is more than enough."""
    try:
        pages: list[str] = []
        size = 0
        for page in PdfReader(io.BytesIO(content)).pages:
            text = page.extract_text() or ""
            pages.append(text)
            size += len(text)
            if size > TEXT_MAX_CHARS:
                break
        return "\n\n".join(pages).strip() or "(no text in this PDF)"
    except (PyPdfError, ValueError, KeyError, TypeError):
        log.warning("a PDF attachment could not be read", exc_info=True)
        return "(this PDF could not be read)"


def responses_content(content: Any) -> Any:
    """Chat Completions content parts as Responses API ones (a string stays a string)."""
    if not isinstance(content, list):
        return content
    converted: list[Json] = []
    for part in content:
        if part.get("type") == "image_url":
            converted.append({"type": "input_image", "image_url": part["image_url"]["url"]})
        else:
            converted.append({"type": "input_text", "text": part.get("text", "")})
    return converted
