"""POST /v1/responses: `input` (+ `instructions`) read as a `Prompt`, the `Plan` written as the
Responses API does (typed SSE events with sequence numbers; message or function_call items).
"""

from __future__ import annotations

import os
import time
from typing import Any

import orjson

from offline_model.chat_completions import BadRequest, forced_function
from offline_model.script import Plan, Prompt, positive_int, text_of

dumps = orjson.dumps


def prompt_of(request: dict[str, Any]) -> Prompt:
    items = request.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        raise BadRequest("'input' must be a string or a non-empty array of items.")
    instructions = request.get("instructions")
    # `instructions` is the system prompt of this API: it counts as one message.
    system = instructions if isinstance(instructions, str) else ""
    count = 1 if system else 0
    input_words = len(system.split())
    last_user = ""
    call_names: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict):
            raise BadRequest("Every input item must be an object.")
        count += 1
        kind = item.get("type", "message")
        if kind == "message":
            text = text_of(item.get("content"))
            input_words += len(text.split())
            if item.get("role") == "user":
                last_user = text
            elif item.get("role") in ("system", "developer"):
                system = f"{system}\n\n{text}" if system else text
        elif kind == "function_call":
            call_names[str(item.get("call_id"))] = str(item.get("name"))
        elif kind == "function_call_output":
            input_words += len(text_of(item.get("output")).split())
    last = items[-1]
    tool_result = None
    if last.get("type") == "function_call_output":
        name = call_names.get(str(last.get("call_id")), "")
        tool_result = (name, text_of(last.get("output")))
    return Prompt(
        count=count,
        last_user=last_user,
        input_words=input_words,
        tools_offered=bool(request.get("tools")),
        tool_result=tool_result,
        max_output_tokens=positive_int(request.get("max_output_tokens")),
        system=system,
        model=str(request.get("model") or ""),
        tool_choice=forced_function(request.get("tool_choice")),
    )


def _usage(plan: Plan) -> dict[str, Any]:
    return {
        "input_tokens": plan.input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": plan.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": plan.input_tokens + plan.output_tokens,
    }


class _Answer:
    """The ids and the final shape of one response, shared by its stream and its JSON."""

    def __init__(self, request: dict[str, Any], plan: Plan, model: str) -> None:
        self.request, self.plan, self.model = request, plan, model
        self.id = f"resp_{os.urandom(16).hex()}"
        self.item_id = f"{'fc' if plan.tool_call else 'msg'}_{os.urandom(16).hex()}"
        self.call_id = f"call_{os.urandom(12).hex()}"
        self.created = int(time.time())

    @property
    def final_status(self) -> str:
        return "incomplete" if self.plan.truncated else "completed"

    def item(self, *, done: bool) -> dict[str, Any]:
        status = self.final_status if done else "in_progress"
        if self.plan.tool_call:
            return {
                "id": self.item_id,
                "type": "function_call",
                "status": status,
                "arguments": "{}" if done else "",
                "call_id": self.call_id,
                "name": self.plan.tool_call,
            }
        content = [self.part(self.plan.text)] if done else []
        return {
            "id": self.item_id,
            "type": "message",
            "status": status,
            "content": content,
            "role": "assistant",
        }

    @staticmethod
    def part(text: str) -> dict[str, Any]:
        return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}

    def response(self, *, done: bool) -> dict[str, Any]:
        r = self.request
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": self.final_status if done else "in_progress",
            "background": False,
            "error": None,
            "incomplete_details": (
                {"reason": "max_output_tokens"} if done and self.plan.truncated else None
            ),
            "instructions": r.get("instructions"),
            "max_output_tokens": r.get("max_output_tokens"),
            "model": self.model,
            "output": [self.item(done=True)] if done else [],
            "parallel_tool_calls": r.get("parallel_tool_calls", True),
            "previous_response_id": r.get("previous_response_id"),
            "reasoning": {"effort": None, "summary": None},
            "store": r.get("store", True),
            "temperature": r.get("temperature", 1.0),
            "text": {"format": {"type": "text"}},
            "tool_choice": r.get("tool_choice", "auto"),
            "tools": r.get("tools") or [],
            "top_p": r.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": _usage(self.plan) if done else None,
            "user": None,
            "metadata": r.get("metadata") or {},
        }


class _Events:
    """Numbered SSE events, encoded as they are made."""

    def __init__(self) -> None:
        self.seq = 0

    def __call__(self, kind: str, **fields: Any) -> bytes:
        data = dumps({"type": kind, "sequence_number": self.seq, **fields})
        self.seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"


def stream_parts(
    request: dict[str, Any], plan: Plan, model: str
) -> tuple[bytes, list[bytes], bytes]:
    """(head, one output_text.delta per word, tail) of the SSE stream."""
    a, ev = _Answer(request, plan, model), _Events()
    at = {"item_id": a.item_id, "output_index": 0}
    head = ev("response.created", response=a.response(done=False))
    head += ev("response.in_progress", response=a.response(done=False))
    head += ev("response.output_item.added", output_index=0, item=a.item(done=False))
    deltas: list[bytes] = []
    if plan.tool_call:
        head += ev("response.function_call_arguments.delta", **at, delta="{}")
        tail = ev(
            "response.function_call_arguments.done", **at, name=plan.tool_call, arguments="{}"
        )
    else:
        head += ev("response.content_part.added", **at, content_index=0, part=a.part(""))
        # The per-word events differ only in their number and word: fill a template.
        prefix = (
            b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
            b'"sequence_number":'
        )
        middle = b',"item_id":"' + a.item_id.encode() + b'","output_index":0,"content_index":0,'
        for word in plan.deltas:
            seq = str(ev.seq).encode()
            ev.seq += 1
            deltas.append(
                prefix + seq + middle + b'"delta":' + dumps(word) + b',"logprobs":[]}\n\n'
            )
        tail = ev("response.output_text.done", **at, content_index=0, text=plan.text, logprobs=[])
        tail += ev("response.content_part.done", **at, content_index=0, part=a.part(plan.text))
    tail += ev("response.output_item.done", output_index=0, item=a.item(done=True))
    tail += ev(f"response.{a.final_status}", response=a.response(done=True))
    return head, deltas, tail


def complete(request: dict[str, Any], plan: Plan, model: str) -> bytes:
    return dumps(_Answer(request, plan, model).response(done=True))
