"""POST /v1/chat/completions: the request read as a `Prompt`, the `Plan` written as OpenAI does."""

from __future__ import annotations

import os
import time
from typing import Any

import orjson

from offline_model.script import Plan, Prompt, positive_int, text_of

dumps = orjson.dumps


class BadRequest(ValueError):
    """The request can't be understood (400)."""


def prompt_of(request: dict[str, Any]) -> Prompt:
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty array.")
    last_user = system = ""
    input_words = 0
    call_names: dict[str, str] = {}
    for message in messages:
        if not isinstance(message, dict):
            raise BadRequest("Every message must be an object.")
        text = text_of(message.get("content"))
        input_words += len(text.split())
        role = message.get("role")
        if role == "user":
            last_user = text
        elif role == "system":
            system = f"{system}\n\n{text}" if system else text
        elif role == "assistant":
            for call in message.get("tool_calls") or ():
                if isinstance(call, dict) and isinstance(call.get("function"), dict):
                    call_names[str(call.get("id"))] = str(call["function"].get("name"))
    last = messages[-1]
    tool_result = None
    if last.get("role") == "tool":
        name = call_names.get(str(last.get("tool_call_id")), "")
        tool_result = (name, text_of(last.get("content")))
    return Prompt(
        count=len(messages),
        last_user=last_user,
        input_words=input_words,
        tools_offered=bool(request.get("tools") or request.get("functions")),
        tool_result=tool_result,
        max_output_tokens=positive_int(
            request.get("max_completion_tokens") or request.get("max_tokens")
        ),
        system=system,
        model=str(request.get("model") or ""),
        tool_choice=forced_function(request.get("tool_choice")),
    )


def forced_function(choice: Any) -> str:
    """The function a `tool_choice` forces (either API's shape), or ""."""
    if not isinstance(choice, dict):
        return ""
    function = choice.get("function")
    name = function.get("name") if isinstance(function, dict) else choice.get("name")
    return name if isinstance(name, str) else ""


def _ids() -> tuple[str, str, int]:
    return f"chatcmpl-{os.urandom(12).hex()}", f"call_{os.urandom(12).hex()}", int(time.time())


def _finish_reason(plan: Plan) -> str:
    return "tool_calls" if plan.tool_call else "length" if plan.truncated else "stop"


def _usage(plan: Plan) -> dict[str, Any]:
    return {
        "prompt_tokens": plan.input_tokens,
        "completion_tokens": plan.output_tokens,
        "total_tokens": plan.input_tokens + plan.output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def stream_parts(
    request: dict[str, Any], plan: Plan, model: str
) -> tuple[bytes, list[bytes], bytes]:
    """(head, one chunk per word, tail) of the SSE stream, every byte pre-encoded."""
    chunk_id, call_id, created = _ids()
    options = request.get("stream_options")
    with_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    common = (
        b'{"id":"'
        + chunk_id.encode()
        + b'","object":"chat.completion.chunk","created":'
        + str(created).encode()
        + b',"model":'
        + dumps(model)
        + b',"system_fingerprint":null'
    )
    pre = b"data: " + common + b',"choices":[{"index":0,"delta":'
    post = b',"logprobs":null,"finish_reason":null}]' + (
        b',"usage":null}\n\n' if with_usage else b"}\n\n"
    )
    if plan.tool_call:
        call = {
            "index": 0,
            "id": call_id,
            "type": "function",
            "function": {"name": plan.tool_call, "arguments": ""},
        }
        head = pre + dumps({"role": "assistant", "content": None, "tool_calls": [call]}) + post
        head += pre + b'{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}' + post
        finish = b"tool_calls"
    else:
        head = pre + b'{"role":"assistant","content":"","refusal":null}' + post
        finish = b"length" if plan.truncated else b"stop"
    deltas = [pre + b'{"content":' + dumps(word) + b"}" + post for word in plan.deltas]
    tail = pre + b'{},"logprobs":null,"finish_reason":"' + finish + b'"}]'
    tail += b',"usage":null}\n\n' if with_usage else b"}\n\n"
    if with_usage:
        tail += b"data: " + common + b',"choices":[],"usage":' + dumps(_usage(plan)) + b"}\n\n"
    return head, deltas, tail + b"data: [DONE]\n\n"


def complete(request: dict[str, Any], plan: Plan, model: str) -> bytes:
    completion_id, call_id, created = _ids()
    message: dict[str, Any] = {"role": "assistant", "content": plan.text or None, "refusal": None}
    message["annotations"] = []
    if plan.tool_call:
        message["tool_calls"] = [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": plan.tool_call, "arguments": "{}"},
            }
        ]
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": _finish_reason(plan),
    }
    return dumps(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [choice],
            "usage": _usage(plan),
            "service_tier": "default",
            "system_fingerprint": None,
        }
    )
