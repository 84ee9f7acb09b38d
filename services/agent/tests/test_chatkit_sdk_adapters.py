"""The SDK's process() validates requests with an adapter built once, not per request."""

from __future__ import annotations

from typing import Any

import chatkit.server
from agent.chatkit import sdk_adapters
from agent.chatkit.sdk_adapters import CachedTypeAdapter
from chatkit.types import ChatKitReq
from pydantic import TypeAdapter


def test_the_sdk_builds_its_request_adapter_once() -> None:
    sdk_adapters.install()
    # What chatkit.server.process() evaluates on every request:
    sdk_name: Any = chatkit.server.TypeAdapter  # type: ignore[attr-defined]
    first, second = sdk_name[ChatKitReq](ChatKitReq), sdk_name[ChatKitReq](ChatKitReq)
    assert first is second
    assert isinstance(first, TypeAdapter)
    assert first is CachedTypeAdapter.of(ChatKitReq)


def test_the_cached_adapter_validates_like_a_new_one() -> None:
    body = b'{"type": "threads.get_by_id", "params": {"thread_id": "thr_1"}}'
    cached = CachedTypeAdapter.of(ChatKitReq).validate_json(body)
    assert cached == TypeAdapter(ChatKitReq).validate_json(body)
