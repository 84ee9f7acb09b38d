"""Stored messages -> the Chat Completions messages sent to the model.

The window is the latest HISTORY_LIMIT stored messages, so its edges can cut a
tool exchange in half; APIs reject a tool result without its call (and a call
without its result), so half exchanges are sent as plain text or left out.
Assistant messages with nothing in them (a reply that failed before its first
token) are left out too: they carry nothing and some servers reject them.

The window is also bounded in characters (HISTORY_MAX_CHARS): older messages are
dropped until the rest fits, so a few huge replies cannot make every later turn
too large for the model (or for gRPC). The newest message always stays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from chat.conversations.v1 import conversations_pb2 as pb

Json = dict[str, Any]


def tool_calls_of(message: pb.Message) -> list[Json]:
    if not message.tool_calls_json:
        return []
    calls = orjson.loads(message.tool_calls_json)
    return calls if isinstance(calls, list) else []


def answered_call_id(message: pb.Message) -> str | None:
    """The id of the call a `tool` message answers (its `tool_calls` holds that one call)."""
    calls = tool_calls_of(message)
    call_id = calls[0].get("id") if calls and isinstance(calls[0], dict) else None
    return call_id if isinstance(call_id, str) else None


def user_content(message: pb.Message) -> str:
    """A user message's text with what ChatKit sent beside it (quoted text, entity tags)
    as context the model can read; the text alone when there is none."""
    payload = message.payload_json
    # Most payloads hold neither: skip parsing them.
    if '"quoted_text"' not in payload and '"input_tag"' not in payload:
        return message.content
    stored = orjson.loads(payload).get("item")
    if not isinstance(stored, dict):
        return message.content
    parts = [message.content]
    if quoted := stored.get("quoted_text"):
        parts.append(f"The user is referring to this in particular:\n{quoted}")
    tags = [p for p in stored.get("content") or () if p.get("type") == "input_tag"]
    if tags:
        lines = [_tag_line(tag) for tag in {t.get("text"): t for t in tags}.values()]
        parts.append("Entities the user mentioned (@-tags):\n" + "\n".join(lines))
    return "\n\n".join(parts)


def _tag_line(tag: Json) -> str:
    data = orjson.dumps(tag.get("data") or {}).decode()
    group = f", group {tag['group']}" if tag.get("group") else ""
    return f"- {tag.get('text')} (id {tag.get('id')}{group}): {data}"


def answers_text(message: pb.Message) -> str | None:
    """ChatKit structured input (a row holding a `structured_input` item) as the text the
    model reads: each question and the user's answer, "" while unanswered. None: the row
    holds no structured input."""
    if '"structured_input"' not in message.payload_json:  # skip parsing most payloads
        return None
    stored = orjson.loads(message.payload_json).get("item")
    if not isinstance(stored, dict) or stored.get("type") != "structured_input":
        return None
    if stored.get("status") == "pending":
        return ""
    lines = [_answer_line(asked) for asked in stored.get("inputs") or ()]
    return "The user answered these questions:\n" + "\n".join(lines)


def _answer_line(asked: Json) -> str:
    answer = asked.get("answer") or {}
    values = [str(v) for v in answer.get("values") or ()]
    given = ", ".join(values) if values and not answer.get("skipped") else "(skipped)"
    return f"- {asked.get('question')}: {given}"


def within_budget(stored: Sequence[pb.Message], max_chars: int) -> Sequence[pb.Message]:
    """The newest messages of `stored` whose text (and tool calls) fit in `max_chars`."""
    used, start = 0, len(stored)
    while start > 0:
        size = len(stored[start - 1].content) + len(stored[start - 1].tool_calls_json)
        if used + size > max_chars and start < len(stored):
            break
        used += size
        start -= 1
    return stored[start:]


def model_messages(
    system_prompt: str,
    stored: Sequence[pb.Message],
    *,
    max_chars: int | None = None,
    attachments: Mapping[str, list[Json]] | None = None,
) -> list[Json]:
    """`attachments`: message id -> content parts of its files (attachment_parts.py)."""
    if max_chars is not None:
        stored = within_budget(stored, max_chars)
    answered = {answered_call_id(m) for m in stored if m.role == "tool"}
    offered: set[str] = set()
    out: list[Json] = [{"role": "system", "content": system_prompt}] if system_prompt else []
    for message in stored:
        role = message.role
        if role == "tool":
            call_id = answered_call_id(message)
            if call_id in offered:
                out.append({"role": "tool", "tool_call_id": call_id, "content": message.content})
            continue
        if role == "assistant" and (answers := answers_text(message)) is not None:
            if answers:  # the user's side of the thread, though an app's item holds it
                out.append({"role": "user", "content": answers})
            continue
        item: Json = {"role": role, "content": message.content}
        if role == "user" and message.payload_json:
            item["content"] = user_content(message)
        if attachments and (files := attachments.get(message.id)):
            item["content"] = [{"type": "text", "text": item["content"]}, *files]
        if role == "assistant" and message.tool_calls_json:
            calls = tool_calls_of(message)
            ids = [c.get("id") for c in calls]
            if calls and all(i in answered for i in ids):
                item["tool_calls"] = calls
                offered.update(i for i in ids if isinstance(i, str))
                item["content"] = message.content or None
        if role == "assistant" and not message.content and "tool_calls" not in item:
            continue
        out.append(item)
    return out
