"""ChatKit attachments over the conversations service, which owns the files.

Two-phase upload: `attachments.create` registers a pending file there (declared type and
size checked) and answers with an upload URL on the gateway, `PUT
/api/chat/attachments/{id}/content`, which the client calls with its own bearer token
(the bytes are checked by content there). Sending the message binds the file to its
conversation (`save_attachment` with a thread id); `attachments.delete` removes an
unsent one. The owner downloads a file through `GET` on the same URL; an image's
preview URL (`.../preview?token=`) works without a bearer token, for image elements.
What the model gets of them: agent/attachment_parts.py.
"""

from __future__ import annotations

from typing import Any

from chat.conversations.v1 import conversations_pb2 as pb
from chatkit.store import AttachmentStore
from chatkit.types import (
    Attachment,
    AttachmentCreateParams,
    AttachmentUploadDescriptor,
    FileAttachment,
    ImageAttachment,
)
from fastapi import Request
from pydantic import AnyUrl

from agent.attachment_parts import IMAGE_TYPES
from agent.chatkit.context import ChatContext
from agent.conversations_client import ConversationsClient

Json = dict[str, Any]


def content_path(attachment_id: str) -> str:
    return f"/api/chat/attachments/{attachment_id}/content"


def chatkit_attachment(record: pb.Attachment, public_url: str) -> Attachment:
    """The SDK's view of a stored file: an upload descriptor while pending, a preview
    URL for images."""
    base = public_url.rstrip("/")
    url = AnyUrl(base + content_path(record.id))
    descriptor = (
        AttachmentUploadDescriptor(url=url, method="PUT") if record.state == "pending" else None
    )
    fields: Json = {
        "id": record.id,
        "name": record.name,
        "mime_type": record.mime_type,
        "upload_descriptor": descriptor,
        "thread_id": record.conversation_id or None,
    }
    if record.mime_type in IMAGE_TYPES:
        preview = f"{base}/api/chat/attachments/{record.id}/preview?token={record.preview_token}"
        return ImageAttachment(**fields, preview_url=AnyUrl(preview))
    return FileAttachment(**fields)


class ConversationsAttachments(AttachmentStore[ChatContext]):
    """`attachments.create` / `attachments.delete` (two-phase upload)."""

    def __init__(self, client: ConversationsClient) -> None:
        self.client = client

    async def create_attachment(
        self, input: AttachmentCreateParams, context: ChatContext
    ) -> Attachment:
        record = await self.client.create_attachment(
            context.user_id, name=input.name, mime_type=input.mime_type, size=input.size
        )
        return chatkit_attachment(record, context.public_url)

    async def delete_attachment(self, attachment_id: str, context: ChatContext) -> None:
        await self.client.delete_attachment(context.user_id, attachment_id)


# -- the Store's attachment methods (store.py delegates here) ------------------------------


async def save_attachment(
    client: ConversationsClient, attachment: Attachment, context: ChatContext
) -> None:
    """Called once the file is registered (nothing to do: conversations has it) and when
    it is sent: then it is bound to the thread, refused if not uploaded yet."""
    if attachment.thread_id:
        await client.bind_attachment(context.user_id, attachment.id, attachment.thread_id)


async def load_attachment(
    client: ConversationsClient, attachment_id: str, context: ChatContext
) -> Attachment:
    record = await client.get_attachment(context.user_id, attachment_id)
    return chatkit_attachment(record, context.public_url)


def public_url(request: Request) -> str:
    """The gateway's URL from the request (when PUBLIC_URL is not set): the scheme the
    gateway was reached with and the Host it passed on."""
    scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
    return f"{scheme}://{request.headers.get('host') or request.url.netloc}"
