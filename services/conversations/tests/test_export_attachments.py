"""The account export lists the files each message was sent with (metadata, no bytes),
and never a file of another conversation whatever a message's item claims."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Api, User


def stored_file(db: psycopg.Connection[Any], user: User, conversation_id: str, name: str) -> str:
    file_id = str(uuid.uuid4())
    db.execute(
        "INSERT INTO attachments (id, user_id, conversation_id, name, mime_type, size, state,"
        " content) VALUES (%s, %s, %s, %s, 'text/plain', 5, 'uploaded', 'hello')",
        (file_id, user.id, conversation_id, name),
    )
    return file_id


def message_with_files(
    db: psycopg.Connection[Any], user: User, conversation_id: str, *ids: str
) -> None:
    item = {"item": {"type": "user_message", "attachments": [{"id": i} for i in ids]}}
    db.execute(
        "INSERT INTO messages (id, conversation_id, user_id, role, content, status, payload)"
        " VALUES (gen_random_uuid(), %s, %s, 'user', 'see the files', 'complete', %s)",
        (conversation_id, user.id, json.dumps(item)),
    )


async def test_a_message_line_carries_its_files_metadata(
    api: Api, alice: User, bob: User, database_url: str
) -> None:
    mine, bobs = (await api.create(alice))["id"], (await api.create(bob))["id"]
    with psycopg.connect(database_url, autocommit=True) as db:
        notes = stored_file(db, alice, mine, "notes.txt")
        plan = stored_file(db, alice, mine, "plan.txt")
        secret = stored_file(db, bob, bobs, "secret.txt")
        message_with_files(db, alice, mine, plan, secret, notes)
        message_with_files(db, alice, mine)

    response = await api.get(alice, "/api/chat/export")

    lines = [json.loads(line) for line in response.text.splitlines()]
    with_files, without = (line for line in lines if line["type"] == "message")
    assert with_files["attachments"] == [
        {"id": plan, "name": "plan.txt", "mime_type": "text/plain", "size": 5},
        {"id": notes, "name": "notes.txt", "mime_type": "text/plain", "size": 5},
    ]
    assert "attachments" not in without
    assert secret not in response.text and "secret.txt" not in response.text
    assert "hello" not in response.text, "a file's bytes were exported"
