"""Attachments: registered over gRPC (the agent, for ChatKit's attachments.create),
uploaded and read over REST by their owner, checked by content, gone with their
conversation."""

from __future__ import annotations

import grpc
from chat.conversations.v1 import conversations_pb2 as pb
from chat_testkit.tokens import TestKeys as SigningKeys
from conversations.deps import STATE
from conversations.settings import Settings
from fastapi import FastAPI

from .conftest import Api, Rpc, User
from .test_account_deletion import delete_data

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"


def content_url(attachment_id: str) -> str:
    return f"/api/chat/attachments/{attachment_id}/content"


async def register(rpc: Rpc, user: User, mime_type: str, size: int = 10) -> pb.Attachment:
    request = pb.CreateAttachmentRequest(name="file", mime_type=mime_type, size=size)
    attachment: pb.Attachment = await rpc(user, "CreateAttachment", request, as_agent=True)
    return attachment


async def uploaded(api: Api, rpc: Rpc, user: User, mime_type: str, content: bytes) -> str:
    attachment = await register(rpc, user, mime_type, len(content))
    response = await api.request(user, "PUT", content_url(attachment.id), content=content)
    assert response.status_code == 204, response.text
    return attachment.id


async def is_gone(rpc: Rpc, user: User, attachment_id: str) -> bool:
    request = pb.GetAttachmentRequest(attachment_id=attachment_id)
    return await rpc.error(user, "GetAttachment", request, as_agent=True) == (
        grpc.StatusCode.NOT_FOUND
    )


async def test_the_owner_reads_back_what_was_uploaded(api: Api, rpc: Rpc, alice: User) -> None:
    attachment_id = await uploaded(api, rpc, alice, "image/png", PNG)
    response = await api.get(alice, content_url(attachment_id))
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_another_users_file_is_not_found(api: Api, rpc: Rpc, alice: User, bob: User) -> None:
    attachment_id = await uploaded(api, rpc, alice, "application/pdf", PDF)
    assert (await api.get(bob, content_url(attachment_id))).status_code == 404
    put = await api.request(bob, "PUT", content_url(attachment_id), content=PDF)
    assert put.status_code == 404
    assert await is_gone(rpc, bob, attachment_id)


async def test_content_not_of_the_declared_type_is_refused_and_forgotten(
    api: Api, rpc: Rpc, alice: User
) -> None:
    attachment = await register(rpc, alice, "image/png")
    response = await api.request(alice, "PUT", content_url(attachment.id), content=b"<svg/>")
    assert response.status_code == 415
    assert await is_gone(rpc, alice, attachment.id)


async def test_text_must_be_utf8(api: Api, rpc: Rpc, alice: User) -> None:
    attachment = await register(rpc, alice, "text/plain")
    response = await api.request(alice, "PUT", content_url(attachment.id), content=b"\xff\xfeA")
    assert response.status_code == 415
    text_id = await uploaded(api, rpc, alice, "text/csv", "a,b\nç,d\n".encode())
    assert (await api.get(alice, content_url(text_id))).content == "a,b\nç,d\n".encode()


async def test_an_oversized_file_is_refused_and_forgotten(
    api: Api, rpc: Rpc, alice: User, settings: Settings
) -> None:
    attachment = await register(rpc, alice, "application/pdf")
    too_big = PDF + b"0" * settings.attachment_max_bytes
    response = await api.request(alice, "PUT", content_url(attachment.id), content=too_big)
    assert response.status_code == 413
    assert await is_gone(rpc, alice, attachment.id)


async def test_a_declared_type_outside_the_allowed_ones_is_refused(rpc: Rpc, alice: User) -> None:
    request = pb.CreateAttachmentRequest(name="x.exe", mime_type="application/x-msdownload")
    code = await rpc.error(alice, "CreateAttachment", request, as_agent=True)
    assert code == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_file_cannot_be_sent_before_its_upload(rpc: Rpc, alice: User) -> None:
    attachment = await register(rpc, alice, "image/png")
    conversation = await rpc.conversation(alice, title="files")
    request = pb.BindAttachmentRequest(attachment_id=attachment.id, conversation_id=conversation.id)
    code = await rpc.error(alice, "BindAttachment", request, as_agent=True)
    assert code == grpc.StatusCode.FAILED_PRECONDITION


async def test_deleting_the_conversation_deletes_its_files(api: Api, rpc: Rpc, alice: User) -> None:
    attachment_id = await uploaded(api, rpc, alice, "image/png", PNG)
    conversation = await rpc.conversation(alice, title="files")
    request = pb.BindAttachmentRequest(attachment_id=attachment_id, conversation_id=conversation.id)
    bound = await rpc(alice, "BindAttachment", request, as_agent=True)
    assert bound.conversation_id == conversation.id
    deleted = await api.request(alice, "DELETE", f"/api/chat/conversations/{conversation.id}")
    assert deleted.status_code == 204
    assert (await api.get(alice, content_url(attachment_id))).status_code == 404
    assert await is_gone(rpc, alice, attachment_id)


async def test_an_unsent_file_can_be_deleted_a_sent_one_stays(
    api: Api, rpc: Rpc, alice: User
) -> None:
    unsent = await uploaded(api, rpc, alice, "image/png", PNG)
    sent = await uploaded(api, rpc, alice, "image/png", PNG)
    conversation = await rpc.conversation(alice, title="files")
    bind = pb.BindAttachmentRequest(attachment_id=sent, conversation_id=conversation.id)
    await rpc(alice, "BindAttachment", bind, as_agent=True)
    for attachment_id in (unsent, sent):
        request = pb.DeleteAttachmentRequest(attachment_id=attachment_id)
        await rpc(alice, "DeleteAttachment", request, as_agent=True)
    assert await is_gone(rpc, alice, unsent)
    assert (await api.get(alice, content_url(sent))).status_code == 200


async def test_a_file_of_a_few_mib_is_stored(api: Api, rpc: Rpc, alice: User) -> None:
    big = PDF + b"0" * (2 * 1024 * 1024)
    attachment_id = await uploaded(api, rpc, alice, "application/pdf", big)
    assert (await api.get(alice, content_url(attachment_id))).content == big


async def test_deleting_the_account_deletes_sent_and_unsent_files(
    app: FastAPI, api: Api, rpc: Rpc, test_keys: SigningKeys, alice: User
) -> None:
    await uploaded(api, rpc, alice, "image/png", PNG)  # unsent
    sent = await uploaded(api, rpc, alice, "image/png", PNG)
    conversation = await rpc.conversation(alice, title="files")
    bind = pb.BindAttachmentRequest(attachment_id=sent, conversation_id=conversation.id)
    await rpc(alice, "BindAttachment", bind, as_agent=True)
    await delete_data(rpc, test_keys, alice)
    async with STATE.of(app).pool.connection() as db:
        query = "SELECT count(*) FROM attachments WHERE user_id = %s"
        row = await (await db.execute(query, (alice.id,))).fetchone()
    assert row == (0,)


async def test_an_image_preview_opens_with_its_token_alone(api: Api, rpc: Rpc, alice: User) -> None:
    attachment_id = await uploaded(api, rpc, alice, "image/png", PNG)
    request = pb.GetAttachmentRequest(attachment_id=attachment_id)
    token = (await rpc(alice, "GetAttachment", request, as_agent=True)).preview_token
    preview = f"/api/chat/attachments/{attachment_id}/preview"
    response = await api.get(None, preview, params={"token": token})
    assert response.status_code == 200
    assert response.content == PNG
    wrong = token[:-1] + ("B" if token.endswith("A") else "A")
    assert (await api.get(None, preview, params={"token": wrong})).status_code == 404


async def test_only_images_have_a_preview_token(api: Api, rpc: Rpc, alice: User) -> None:
    attachment_id = await uploaded(api, rpc, alice, "application/pdf", PDF)
    request = pb.GetAttachmentRequest(attachment_id=attachment_id)
    assert (await rpc(alice, "GetAttachment", request, as_agent=True)).preview_token == ""
    preview = f"/api/chat/attachments/{attachment_id}/preview"
    assert (await api.get(None, preview, params={"token": ""})).status_code == 404
