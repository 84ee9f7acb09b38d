"""ChatKit attachments through the gateway: two-phase upload with the user's token, the
model gets the files (the offline model says what it got), owner-only previews, uploads
refused by size and by content with nothing stored, files gone with their thread."""

from __future__ import annotations

import uuid
from typing import Any

from chat_testkit.pdf import minimal_pdf

from tests.helpers.gateway import GatewayClient, User, created_thread_id, thread_create

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 128
NOTES = "Quarterly numbers look strong this spring"


async def register(gateway: GatewayClient, user: User, name: str, mime: str, size: int) -> Any:
    params = {"name": name, "mime_type": mime, "size": size}
    return await gateway.chatkit(user, {"type": "attachments.create", "params": params})


def path_of(attachment: dict[str, Any]) -> str:
    return f"/api/chat/attachments/{attachment['id']}/content"


async def upload(gateway: GatewayClient, user: User, name: str, mime: str, data: bytes) -> Any:
    attachment = await register(gateway, user, name, mime, len(data))
    descriptor = attachment["upload_descriptor"]
    assert descriptor["method"] == "PUT"
    assert descriptor["url"] == f"{gateway.http.base_url}".rstrip("/") + path_of(attachment)
    response = await gateway.http.put(descriptor["url"], content=data, headers=user.headers)
    assert response.status_code == 204, response.text
    return attachment


def send(text: str, attachment_ids: list[str]) -> dict[str, Any]:
    return thread_create(text, attachments=attachment_ids)


async def test_the_model_gets_the_files_sent_with_a_message(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    image = await upload(gateway, user, "chart.png", "image/png", PNG)
    notes = await upload(gateway, user, "notes.txt", "text/plain", NOTES.encode())
    base = str(gateway.http.base_url).rstrip("/")
    assert image["preview_url"].startswith(f"{base}/api/chat/attachments/{image['id']}/preview?")
    events = await gateway.chatkit(user, send("what did I send?", [image["id"], notes["id"]]))
    thread_id = created_thread_id(events)
    reply = (await gateway.messages(user, thread_id))[-1]["content"]
    assert "what did I send?" in reply
    assert "[image]" in reply, reply
    assert f"Attached file notes.txt (text/plain):\n{NOTES}" in reply, reply


async def test_the_model_reads_a_pdf(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    pdf = await upload(gateway, user, "q3.pdf", "application/pdf", minimal_pdf("Revenue grew"))
    events = await gateway.chatkit(user, send("summarise it", [pdf["id"]]))
    thread_id = created_thread_id(events)
    reply = (await gateway.messages(user, thread_id))[-1]["content"]
    assert "Attached file q3.pdf (application/pdf):\nRevenue grew" in reply, reply


async def test_a_preview_is_the_owners_only(gateway: GatewayClient) -> None:
    alice, bob = await gateway.sign_up(), await gateway.sign_up()
    image = await upload(gateway, alice, "chart.png", "image/png", PNG)
    own = await gateway.http.get(path_of(image), headers=alice.headers)
    assert own.status_code == 200
    assert own.content == PNG
    assert own.headers["content-type"] == "image/png"
    assert (await gateway.http.get(path_of(image), headers=bob.headers)).status_code == 404
    assert (await gateway.http.get(path_of(image))).status_code == 401
    # An image element sends no bearer token: the preview URL's own token opens it.
    preview = await gateway.http.get(image["preview_url"])
    assert preview.status_code == 200
    assert preview.content == PNG
    wrong = image["preview_url"][:-1] + ("B" if image["preview_url"].endswith("A") else "A")
    assert (await gateway.http.get(wrong)).status_code == 404


async def test_an_oversized_upload_is_refused_and_nothing_is_stored(
    gateway: GatewayClient,
) -> None:
    user = await gateway.sign_up()
    big = b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024)
    refused = await register(gateway, user, "big.pdf", "application/pdf", 1000)
    url = refused["upload_descriptor"]["url"]
    response = await gateway.http.put(url, content=big, headers=user.headers)
    assert response.status_code == 413
    assert (await gateway.http.get(path_of(refused), headers=user.headers)).status_code == 404
    # Past the 1 MiB of every other route, the upload route still takes it.
    fits = await upload(gateway, user, "fits.pdf", "application/pdf", big[: 2 * 1024 * 1024])
    assert (await gateway.http.get(path_of(fits), headers=user.headers)).status_code == 200


async def test_content_not_of_the_declared_type_is_refused(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    fake = await register(gateway, user, "cat.png", "image/png", 20)
    url = fake["upload_descriptor"]["url"]
    response = await gateway.http.put(url, content=b"<html>not a png</html>", headers=user.headers)
    assert response.status_code == 415
    assert (await gateway.http.get(path_of(fake), headers=user.headers)).status_code == 404


async def test_deleting_the_thread_deletes_its_files(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    image = await upload(gateway, user, "chart.png", "image/png", PNG)
    events = await gateway.chatkit(user, send("keep this", [image["id"]]))
    thread_id = created_thread_id(events)
    assert (await gateway.http.get(path_of(image), headers=user.headers)).status_code == 200
    await gateway.chatkit(user, {"type": "threads.delete", "params": {"thread_id": thread_id}})
    assert (await gateway.http.get(path_of(image), headers=user.headers)).status_code == 404
    assert (await gateway.http.get(image["preview_url"])).status_code == 404


async def test_dictation_is_not_available_with_the_offline_model(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    body = {
        "type": "input.transcribe",
        "params": {"audio_base64": "AAAA", "mime_type": "audio/webm"},
    }
    response = await gateway.http.post("/chatkit", json=body, headers=user.headers)
    assert response.status_code == 400
    assert "dictation is not available" in response.json()["detail"]


async def test_a_message_carries_at_most_attachments_per_message_files(
    gateway: GatewayClient,
) -> None:
    user = await gateway.sign_up()
    too_many = [str(uuid.uuid4()) for _ in range(11)]  # ATTACHMENTS_PER_MESSAGE: 10
    response = await gateway.http.post("/chatkit", json=send("hi", too_many), headers=user.headers)
    assert response.status_code == 422
    assert "at most 10 files" in response.json()["detail"]


async def test_another_users_file_cannot_be_sent(gateway: GatewayClient) -> None:
    alice, bob = await gateway.sign_up(), await gateway.sign_up()
    notes = await upload(gateway, alice, "notes.txt", "text/plain", NOTES.encode())
    response = await gateway.http.post(
        "/chatkit", json=send("what is it?", [notes["id"]]), headers=bob.headers
    )
    assert NOTES not in response.text
    listed = await gateway.chatkit(bob, {"type": "threads.list", "params": {}})
    for thread in listed["data"]:
        for message in await gateway.messages(bob, thread["id"]):
            assert NOTES not in message["content"]
