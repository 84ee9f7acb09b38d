"""Errors on a ChatKit stream: what a domain error says in the UI, whether the UI offers a
retry, and the `error` event that ends a stream whatever escaped it."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterable

from chat_common.errors import DomainError, InvalidInput, NotFound, PermissionDenied, RateLimited
from chatkit.types import ErrorEvent

log = logging.getLogger(__name__)


class NotSupported(DomainError):
    status, default_message = 400, "this ChatKit request type is not supported"


def retryable(exc: DomainError) -> bool:
    """Whether sending the same request again may succeed: not after a refusal of the
    input itself (too large, malformed) or of the target (missing, not allowed)."""
    return not isinstance(exc, InvalidInput | NotFound | PermissionDenied | NotSupported)


def readable(exc: DomainError) -> str:
    if isinstance(exc, RateLimited):
        return f"{exc.message} (try again in {exc.retry_after} s)"
    return exc.message


def error_frame(message: str, *, allow_retry: bool) -> bytes:
    event = ErrorEvent(code="custom", message=message, allow_retry=allow_retry)
    return b"data: " + event.model_dump_json().encode() + b"\n\n"


async def single_error(message: str) -> AsyncGenerator[bytes, None]:
    yield error_frame(message, allow_retry=False)


async def readable_errors(stream: AsyncIterable[bytes]) -> AsyncGenerator[bytes, None]:
    """Whatever escapes the SDK's stream after it started (a refused or failed StartTurn
    while creating a thread, a store failure) ends it with an `error` event a ChatKit UI
    shows, instead of a cut connection."""
    try:
        async for chunk in stream:
            yield chunk
    except DomainError as exc:
        yield error_frame(readable(exc), allow_retry=retryable(exc))
    except Exception:
        log.exception("a ChatKit stream failed")
        yield error_frame("Something went wrong on our side; please try again.", allow_retry=True)
