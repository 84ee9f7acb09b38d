"""Attachments: files a user sends with a ChatKit message (two-phase upload).

1. The agent registers a pending file (`create`, gRPC CreateAttachment): declared name,
   type and size are checked, no bytes yet.
2. The client uploads the bytes (`upload`, REST PUT .../content with its bearer token).
   They are checked by CONTENT, never by name: the magic bytes must be the declared
   image or PDF type, and text must decode as UTF-8. A refused upload (too large, wrong
   type) deletes the pending row: nothing of it is stored.
3. Sending the message binds the file to its conversation (`bind`); from then on it
   lives and dies with the conversation (migration 0009: a soft delete removes the
   files at once, a purge by the foreign key's cascade).

Every read is scoped by user id: another user's file is NotFound, like a missing one.
The one exception is an image's preview: an image element cannot send a bearer token, so
its URL carries a preview token instead, an HMAC of the file id under a random key kept
in the database (migration 0009); it opens that image only, while it is live.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID, uuid4

import grpc
from chat_common.errors import DomainError, FailedPrecondition, InvalidInput, NotFound

from conversations.rows import Connection, execute, found, one_or_none

NAME_MAX_CHARS: Final = 255
PENDING: Final = "pending"
UPLOADED: Final = "uploaded"
IMAGE_TYPES: Final = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
TEXT_TYPES: Final = frozenset({"text/plain", "text/markdown", "text/csv"})
PDF_TYPE: Final = "application/pdf"
ALLOWED_TYPES: Final = IMAGE_TYPES | TEXT_TYPES | {PDF_TYPE}


class TooLarge(DomainError):
    status, grpc_code = 413, grpc.StatusCode.INVALID_ARGUMENT
    default_message = "the file is too large"


class UnsupportedType(DomainError):
    status, grpc_code = 415, grpc.StatusCode.INVALID_ARGUMENT
    default_message = "unsupported file type"


@dataclass(frozen=True, slots=True)
class AttachmentRecord:
    id: UUID
    user_id: UUID
    conversation_id: UUID | None
    name: str
    mime_type: str
    size: int
    state: str
    created_at: datetime
    content: bytes | None = None


_COLUMNS = "id, user_id, conversation_id, name, mime_type, size, state, created_at"
# A file is visible while unsent or while its conversation is live.
_UNSENT_OR_LIVE = """(a.conversation_id IS NULL
  OR EXISTS (SELECT 1 FROM conversations c
             WHERE c.id = a.conversation_id AND c.deleted_at IS NULL))"""
_VISIBLE = f"a.user_id = %(user_id)s AND a.id = %(id)s AND {_UNSENT_OR_LIVE}"

_INSERT = f"""
INSERT INTO attachments (id, user_id, name, mime_type, size)
VALUES (%(id)s, %(user_id)s, %(name)s, %(mime_type)s, %(size)s) RETURNING {_COLUMNS}
"""
_SELECT = f"SELECT {_COLUMNS} FROM attachments a WHERE {_VISIBLE}"
_SELECT_CONTENT = f"SELECT {_COLUMNS}, content FROM attachments a WHERE {_VISIBLE}"
_STORE_CONTENT = f"""
UPDATE attachments SET content = %(content)s, size = %(size)s, state = '{UPLOADED}'
WHERE user_id = %(user_id)s AND id = %(id)s AND state = '{PENDING}' RETURNING {_COLUMNS}
"""
_DELETE_PENDING = f"""
DELETE FROM attachments
WHERE user_id = %(user_id)s AND id = %(id)s AND state = '{PENDING}'
"""
# Bound once: to a live conversation of the same user; binding again to it is a no-op.
_BIND = f"""
UPDATE attachments a SET conversation_id = %(conversation_id)s
WHERE a.user_id = %(user_id)s AND a.id = %(id)s AND a.state = '{UPLOADED}'
  AND (a.conversation_id IS NULL OR a.conversation_id = %(conversation_id)s)
  AND EXISTS (SELECT 1 FROM conversations c WHERE c.id = %(conversation_id)s
              AND c.user_id = %(user_id)s AND c.deleted_at IS NULL)
RETURNING {_COLUMNS}
"""
_DELETE_UNSENT = """
DELETE FROM attachments
WHERE user_id = %(user_id)s AND id = %(id)s AND conversation_id IS NULL
"""


def _record(row: tuple[object, ...]) -> AttachmentRecord:
    return AttachmentRecord(*row)  # type: ignore[arg-type]  # columns in field order


def check_declared(*, name: str, mime_type: str, size: int, max_bytes: int) -> None:
    """What the client says about a file before sending it (its bytes are checked later)."""
    if not 0 < len(name) <= NAME_MAX_CHARS or "\x00" in name:
        raise InvalidInput(f"name must be 1..{NAME_MAX_CHARS} characters")
    if mime_type not in ALLOWED_TYPES:
        raise UnsupportedType(f"allowed types: {', '.join(sorted(ALLOWED_TYPES))}")
    if not 0 <= size <= max_bytes:
        raise TooLarge(f"files may be at most {max_bytes} bytes")


def sniffed_type(content: bytes) -> str | None:
    """The binary type the magic bytes say, or None (maybe text, maybe anything)."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content.startswith(b"%PDF-"):
        return PDF_TYPE
    return None


def is_text(content: bytes) -> bool:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return "\x00" not in text


def check_content(content: bytes, declared: str) -> None:
    """UnsupportedType unless the bytes are what the file was declared to be."""
    sniffed = sniffed_type(content)
    if declared in TEXT_TYPES:
        matches = sniffed is None and is_text(content)
    else:
        matches = sniffed == declared
    if not matches:
        raise UnsupportedType(f"the content is not {declared}")


async def create(
    db: Connection, *, user_id: UUID, name: str, mime_type: str, size: int, max_bytes: int
) -> AttachmentRecord:
    check_declared(name=name, mime_type=mime_type, size=size, max_bytes=max_bytes)
    params = {"id": uuid4(), "user_id": user_id, "name": name, "mime_type": mime_type}
    row = await found(db, _INSERT, params | {"size": size}, "attachment")
    return _record(row)


async def get(
    db: Connection, *, user_id: UUID, attachment_id: UUID, with_content: bool = False
) -> AttachmentRecord:
    query = _SELECT_CONTENT if with_content else _SELECT
    row = await found(db, query, {"user_id": user_id, "id": attachment_id}, "attachment")
    return _record(row)


async def upload(
    db: Connection, *, user_id: UUID, attachment_id: UUID, content: bytes, max_bytes: int
) -> AttachmentRecord:
    """Stores the bytes of a pending file, or refuses them and forgets the file."""
    pending = await get(db, user_id=user_id, attachment_id=attachment_id)
    if pending.state != PENDING:
        raise FailedPrecondition("the file is uploaded already")
    try:
        if len(content) > max_bytes:
            raise TooLarge(f"files may be at most {max_bytes} bytes")
        check_content(content, pending.mime_type)
    except DomainError:
        await forget_pending(db, user_id=user_id, attachment_id=attachment_id)
        raise
    params = {"user_id": user_id, "id": attachment_id, "content": content, "size": len(content)}
    return _record(await found(db, _STORE_CONTENT, params, "attachment"))


async def forget_pending(db: Connection, *, user_id: UUID, attachment_id: UUID) -> None:
    await execute(db, _DELETE_PENDING, {"user_id": user_id, "id": attachment_id})


async def bind(
    db: Connection, *, user_id: UUID, attachment_id: UUID, conversation_id: UUID
) -> AttachmentRecord:
    """Ties an uploaded file to the conversation it is sent in."""
    params = {"user_id": user_id, "id": attachment_id, "conversation_id": conversation_id}
    row = await one_or_none(db, _BIND, params)
    if row is not None:
        return _record(row)
    current = await get(db, user_id=user_id, attachment_id=attachment_id)
    if current.state != UPLOADED:
        raise FailedPrecondition("the file is not uploaded yet")
    raise NotFound("attachment not found")  # sent in another conversation, or none


_KEY = "SELECT key FROM attachment_keys WHERE id = 1"
_PREVIEW = f"""
SELECT {_COLUMNS}, content FROM attachments a
WHERE a.id = %(id)s AND a.state = '{UPLOADED}' AND {_UNSENT_OR_LIVE}
"""


async def _key(db: Connection) -> bytes:
    # A one-row primary key read: cheap enough not to cache (and a cache would outlive a
    # test database).
    return bytes((await found(db, _KEY, {}, "attachment key"))[0])


async def preview_token(db: Connection, record: AttachmentRecord) -> str:
    """The token of an image's preview URL ("" for other types)."""
    if record.mime_type not in IMAGE_TYPES:
        return ""
    digest = hmac.new(await _key(db), record.id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def preview(db: Connection, *, attachment_id: UUID, token: str) -> AttachmentRecord:
    """The image the token opens; NotFound for a wrong token or a gone file."""
    row = await found(db, _PREVIEW, {"id": attachment_id}, "attachment")
    record = _record(row)
    expected = await preview_token(db, record)
    if not expected or not hmac.compare_digest(expected.encode(), token.encode()):
        raise NotFound("attachment not found")
    return record


async def delete_unsent(db: Connection, *, user_id: UUID, attachment_id: UUID) -> None:
    """Removes a file not yet sent (the composer dropped it); a sent one stays with its
    message. Idempotent."""
    await execute(db, _DELETE_UNSENT, {"user_id": user_id, "id": attachment_id})
