"""One pydantic adapter per type for the ChatKit SDK, instead of one per request.

openai-chatkit 1.6.5's `ChatKitServer.process()` builds `TypeAdapter[ChatKitReq](ChatKitReq)`
on every call: building one for the union of request types costs far more CPU than
validating a body with one already built, and was a large part of the agent's CPU per
ChatKit turn (bench case 9; figures in docs/benchmarks.md). `install()` makes
the name `TypeAdapter` in the SDK's server module hand out adapters built once. Nothing of
the SDK is called differently; if a later SDK keeps its own adapter, this is unused.
"""

from __future__ import annotations

from typing import Any, ClassVar

import chatkit.server
from pydantic import TypeAdapter


class CachedTypeAdapter:
    """`CachedTypeAdapter[T](T)` is `TypeAdapter[T](T)`, built on first use only."""

    _built: ClassVar[dict[Any, TypeAdapter[Any]]] = {}

    def __class_getitem__(cls, _item: Any) -> type[CachedTypeAdapter]:
        return cls

    def __new__(cls, type_: Any) -> TypeAdapter[Any]:  # type: ignore[misc]
        return cls.of(type_)

    @classmethod
    def of(cls, type_: Any) -> TypeAdapter[Any]:
        adapter = cls._built.get(type_)
        if adapter is None:
            adapter = cls._built[type_] = TypeAdapter(type_)
        return adapter


def install() -> None:
    chatkit.server.TypeAdapter = CachedTypeAdapter  # type: ignore[attr-defined,assignment]
