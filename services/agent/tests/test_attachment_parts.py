"""What the model gets of a message's files: image input, and the text of text and PDF
files (pypdf on a real PDF), read from the conversations client."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
import pytest
from agent.attachment_parts import PartCache, attachment_parts, pdf_text, responses_content
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


class CountingFiles(Files):
    def __init__(self, *records: pb.Attachment) -> None:
        super().__init__(*records)
        self.reads = 0

    async def get_attachment(
        self, user_id: uuid.UUID, attachment_id: str, *, with_content: bool = False
    ) -> pb.Attachment:
        self.reads += 1
        return await super().get_attachment(user_id, attachment_id, with_content=with_content)


async def test_a_file_is_read_once_and_its_parts_kept_for_the_next_turns() -> None:
    pdf = pb.Attachment(
        id="p", name="q3.pdf", mime_type="application/pdf", content=minimal_pdf("Q3 up")
    )
    files, cache = CountingFiles(pdf), PartCache()
    message = user_message("see this", "p", "gone")

    first = await attachment_parts(files, USER, [message], cache)  # type: ignore[arg-type]
    again = await attachment_parts(files, USER, [message], cache)  # type: ignore[arg-type]

    assert again == first and "Q3 up" in first[message.id][0]["text"]
    # The PDF was fetched and parsed once; the missing file is asked about each time.
    assert files.reads == 3
    other_user = await attachment_parts(files, uuid.uuid4(), [message], cache)  # type: ignore[arg-type]
    assert files.reads == 5 and other_user == first  # kept per user: read again for another


def test_the_least_recently_used_parts_go_past_the_budget() -> None:
    cache = PartCache(max_chars=10)
    a, b, c = ({"type": "text", "text": text} for text in ("aaaa", "bbbb", "cccc"))
    cache.put((USER, "a"), a)
    cache.put((USER, "b"), b)
    assert cache.get((USER, "a")) == a  # now the most recently used
    cache.put((USER, "c"), c)
    assert cache.get((USER, "b")) is None
    assert cache.get((USER, "a")) == a and cache.get((USER, "c")) == c
    cache.put((USER, "big"), {"type": "text", "text": "x" * 11})  # larger than it all
    assert cache.get((USER, "big")) is None and cache.get((USER, "c")) == c
