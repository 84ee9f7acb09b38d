"""What the model gets of a user message's attachments (ChatKit files, stored by the
conversations service): images as image input (a data URL), text and PDF as text it can
read (PDF through pypdf), each file's text bounded in characters. Read again each turn,
as the history is."""

from __future__ import annotations

import base64
import io
import logging
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


def attachment_ids(message: pb.Message) -> list[str]:
    """The ids of the files a stored user message (a ChatKit item) was sent with."""
    if message.role != "user" or '"attachments"' not in message.payload_json:
        return []
    item = orjson.loads(message.payload_json).get("item")
    found = item.get("attachments") if isinstance(item, dict) else None
    return [a["id"] for a in found or () if isinstance(a, dict) and isinstance(a.get("id"), str)]


async def attachment_parts(
    client: ConversationsClient, user_id: UUID, stored: Sequence[pb.Message]
) -> dict[str, list[Json]]:
    """Message id -> the content parts of its files, for the messages that have some."""
    parts: dict[str, list[Json]] = {}
    for message in stored:
        for attachment_id in attachment_ids(message):
            part = await _part(client, user_id, attachment_id)
            parts.setdefault(message.id, []).append(part)
    return parts


async def _part(client: ConversationsClient, user_id: UUID, attachment_id: str) -> Json:
    try:
        record = await client.get_attachment(user_id, attachment_id, with_content=True)
    except NotFound:
        return _text_part("(an attached file that was deleted since)")
    if record.mime_type in IMAGE_TYPES:
        data = base64.b64encode(record.content).decode("ascii")
        return {"type": "image_url", "image_url": {"url": f"data:{record.mime_type};base64,{data}"}}
    text = pdf_text(record.content) if record.mime_type == PDF_TYPE else _utf8(record.content)
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
