"""The gRPC door to attachments (conversations/attachments.py), mixed into the
servicer: the agent registers, reads, binds and deletes files for the acting user."""

from __future__ import annotations

from typing import Any

from chat.conversations.v1 import conversations_pb2 as pb

from conversations import attachments
from conversations.db import Pool, connection
from conversations.grpc.convert import parse_id
from conversations.grpc.interceptors import current_user
from conversations.rows import Connection

Context = Any  # grpc.aio.ServicerContext


async def attachment_pb(db: Connection, record: attachments.AttachmentRecord) -> pb.Attachment:
    message = pb.Attachment(
        id=str(record.id),
        name=record.name,
        mime_type=record.mime_type,
        size=record.size,
        conversation_id=str(record.conversation_id or ""),
        state=record.state,
        content=record.content or b"",
        preview_token=await attachments.preview_token(db, record),
    )
    message.created_at.FromDatetime(record.created_at)
    return message


class AttachmentsRpc:
    """CreateAttachment, GetAttachment, BindAttachment and DeleteAttachment."""

    _pool: Pool
    _attachment_max_bytes: int

    async def CreateAttachment(
        self, request: pb.CreateAttachmentRequest, _context: Context
    ) -> pb.Attachment:
        async with connection(self._pool) as db:
            record = await attachments.create(
                db,
                user_id=current_user(),
                name=request.name,
                mime_type=request.mime_type,
                size=request.size,
                max_bytes=self._attachment_max_bytes,
            )
            return await attachment_pb(db, record)

    async def GetAttachment(
        self, request: pb.GetAttachmentRequest, _context: Context
    ) -> pb.Attachment:
        attachment_id = parse_id(request.attachment_id, "attachment_id")
        async with connection(self._pool) as db:
            record = await attachments.get(
                db,
                user_id=current_user(),
                attachment_id=attachment_id,
                with_content=request.with_content,
            )
            return await attachment_pb(db, record)

    async def BindAttachment(
        self, request: pb.BindAttachmentRequest, _context: Context
    ) -> pb.Attachment:
        attachment_id = parse_id(request.attachment_id, "attachment_id")
        conversation_id = parse_id(request.conversation_id, "conversation_id")
        async with connection(self._pool) as db:
            record = await attachments.bind(
                db,
                user_id=current_user(),
                attachment_id=attachment_id,
                conversation_id=conversation_id,
            )
            return await attachment_pb(db, record)

    async def DeleteAttachment(
        self, request: pb.DeleteAttachmentRequest, _context: Context
    ) -> pb.DeleteAttachmentResponse:
        attachment_id = parse_id(request.attachment_id, "attachment_id")
        async with connection(self._pool) as db:
            await attachments.delete_unsent(db, user_id=current_user(), attachment_id=attachment_id)
        return pb.DeleteAttachmentResponse()
