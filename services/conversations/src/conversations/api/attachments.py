"""REST: an attachment's bytes. `PUT` is the upload URL ChatKit's client gets from
`attachments.create` (phase two of its two-phase upload); `GET` is the preview and
download URL. Both take the owner's bearer token; another user's file is 404."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from chat_common.errors import NotFound
from fastapi import APIRouter, Query, Request, Response

from conversations import attachments
from conversations.deps import CurrentUser, SessionDep, StateDep

router = APIRouter(prefix="/api/chat", tags=["attachments"])

_UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown or another user's attachment"},
    409: {"description": "Uploaded already"},
    413: {"description": "Larger than ATTACHMENT_MAX_BYTES (the file is forgotten)"},
    415: {"description": "The content is not the declared type (the file is forgotten)"},
}


@router.put("/attachments/{attachment_id}/content", status_code=204, responses=_UPLOAD_RESPONSES)
async def upload_attachment(
    attachment_id: UUID, request: Request, user: CurrentUser, db: SessionDep, state: StateDep
) -> Response:
    """The bytes of a file registered through ChatKit's `attachments.create`, checked by
    content: PNG, JPEG, GIF, WebP, PDF by their magic bytes, text as UTF-8."""
    max_bytes = state.settings.attachment_max_bytes
    try:
        content = await _body(request, max_bytes)
    except attachments.TooLarge:
        await attachments.forget_pending(db, user_id=user, attachment_id=attachment_id)
        raise
    await attachments.upload(
        db, user_id=user, attachment_id=attachment_id, content=content, max_bytes=max_bytes
    )
    return Response(status_code=204)


@router.get(
    "/attachments/{attachment_id}/content",
    response_class=Response,
    responses={200: {"description": "The file's bytes"}, 404: {"description": "Not found"}},
)
async def download_attachment(attachment_id: UUID, user: CurrentUser, db: SessionDep) -> Response:
    """The file as uploaded; images inline (previews), other types as a download."""
    record = await attachments.get(db, user_id=user, attachment_id=attachment_id, with_content=True)
    if record.content is None:
        raise NotFound("attachment not uploaded")
    disposition = "inline" if record.mime_type in attachments.IMAGE_TYPES else "attachment"
    return _file(record, disposition)


def _file(record: attachments.AttachmentRecord, disposition: str) -> Response:
    headers = {
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(record.name)}",
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        # The user's own bytes never run as a page of ours.
        "Content-Security-Policy": "sandbox; default-src 'none'",
    }
    return Response(record.content, media_type=record.mime_type, headers=headers)


@router.get(
    "/attachments/{attachment_id}/preview",
    response_class=Response,
    responses={200: {"description": "The image"}, 404: {"description": "Not found"}},
)
async def preview_attachment(
    attachment_id: UUID, token: Annotated[str, Query(max_length=64)], db: SessionDep
) -> Response:
    """An image by its preview URL (the token stands in for the bearer token, which an
    image element cannot send); a wrong token, or a file gone with its conversation, 404."""
    record = await attachments.preview(db, attachment_id=attachment_id, token=token)
    return _file(record, "inline")


async def _body(request: Request, max_bytes: int) -> bytes:
    """The request body, refused as soon as it outgrows `max_bytes`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise attachments.TooLarge(f"files may be at most {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise attachments.TooLarge(f"files may be at most {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
