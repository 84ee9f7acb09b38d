"""What the model gets of a message's files: image input, and the text of text and PDF
files (pypdf on a real PDF), read from the conversations client."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
import pytest
from agent.attachment_parts import attachment_parts, pdf_text, responses_content
from agent.history import model_messages
from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import NotFound
from chat_testkit.pdf import minimal_pdf

USER = uuid.uuid4()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8


class Files:
    """The conversations client's attachment reads, over a dict."""

    def __init__(self, *records: pb.Attachment) -> None:
        self.records = {r.id: r for r in records}

    async def get_attachment(
        self, user_id: uuid.UUID, attachment_id: str, *, with_content: bool = False
    ) -> pb.Attachment:
        if attachment_id not in self.records:
            raise NotFound("attachment not found")
        return self.records[attachment_id]


def user_message(text: str, *attachment_ids: str) -> pb.Message:
    item = {"type": "user_message", "attachments": [{"id": i} for i in attachment_ids]}
    payload = orjson.dumps({"item": item}).decode()
    return pb.Message(id=str(uuid.uuid4()), role="user", content=text, payload_json=payload)


async def parts_for(files: Files, message: pb.Message) -> list[dict[str, Any]]:
    found = await attachment_parts(files, USER, [message])  # type: ignore[arg-type]
    return found[message.id]


def test_the_text_of_a_pdf_is_read() -> None:
    assert pdf_text(minimal_pdf("Hello from a PDF file")) == "Hello from a PDF file"


def test_a_broken_pdf_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.CRITICAL):
        assert pdf_text(b"%PDF-1.4 not really") == "(this PDF could not be read)"


async def test_images_are_image_input_and_pdfs_text() -> None:
    files = Files(
        pb.Attachment(id="a", name="chart.png", mime_type="image/png", content=PNG),
        pb.Attachment(
            id="b", name="q3.pdf", mime_type="application/pdf", content=minimal_pdf("Q3 up")
        ),
    )
    image, pdf = await parts_for(files, user_message("look", "a", "b"))
    assert image["type"] == "image_url"
    assert image["image_url"]["url"].startswith("data:image/png;base64,iVBORw0KGgo")
    assert pdf == {"type": "text", "text": "\n\nAttached file q3.pdf (application/pdf):\nQ3 up"}


async def test_a_deleted_file_is_named_not_fatal() -> None:
    (part,) = await parts_for(Files(), user_message("look", "gone"))
    assert "deleted" in part["text"]


async def test_the_history_carries_the_parts_after_the_text() -> None:
    message = user_message("what is this?", "t")
    files = Files(pb.Attachment(id="t", name="n.txt", mime_type="text/plain", content=b"hi"))
    parts = await attachment_parts(files, USER, [message])  # type: ignore[arg-type]
    (sent,) = model_messages("", [message], attachments=parts)
    assert sent["content"][0] == {"type": "text", "text": "what is this?"}
    assert sent["content"][1]["text"].endswith("n.txt (text/plain):\nhi")
    assert responses_content(sent["content"])[0] == {"type": "input_text", "text": "what is this?"}
