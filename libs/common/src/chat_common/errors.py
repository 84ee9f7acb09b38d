"""Domain errors: one vocabulary, mapped once per door (HTTP handler, gRPC interceptor).

Services raise these from their store/pipeline code; the client only ever sees
`{"detail": message}` (or the gRPC status and message), never internals.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

# The gRPC trailing metadata key of RateLimited's Retry-After (seconds).
RETRY_AFTER_METADATA = "retry-after"
# ...and of its RateLimit-Policy.
RATE_LIMIT_POLICY_METADATA = "ratelimit-policy"


class DomainError(Exception):
    status: ClassVar[int] = 400
    grpc_code: ClassVar[grpc.StatusCode] = grpc.StatusCode.INVALID_ARGUMENT
    default_message: ClassVar[str] = "bad request"
    default_headers: ClassVar[dict[str, str]] = {}

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None):
        self.message = message or self.default_message
        self.headers = {**self.default_headers, **(headers or {})}
        super().__init__(self.message)

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        """What a gRPC status carries besides code and message (see RateLimited)."""
        return ()


class InvalidInput(DomainError):
    status, grpc_code, default_message = 422, grpc.StatusCode.INVALID_ARGUMENT, "invalid input"


class NotFound(DomainError):
    status, grpc_code, default_message = 404, grpc.StatusCode.NOT_FOUND, "not found"


class Conflict(DomainError):
    status, grpc_code, default_message = 409, grpc.StatusCode.ALREADY_EXISTS, "conflict"


class FailedPrecondition(DomainError):
    """The request is well formed but the target's state refuses it (e.g. a write that
    would change a message already in a final state)."""

    status, grpc_code = 409, grpc.StatusCode.FAILED_PRECONDITION
    default_message = "failed precondition"


class Unauthenticated(DomainError):
    status, grpc_code, default_message = 401, grpc.StatusCode.UNAUTHENTICATED, "not authenticated"
    default_headers = {"WWW-Authenticate": "Bearer"}  # RFC 6750: what a 401 asks for


class PermissionDenied(DomainError):
    """A verified caller asking for something its identity may not do (an agent-only RPC
    with a user token). Never used for another user's data: that is NotFound."""

    status, grpc_code, default_message = 403, grpc.StatusCode.PERMISSION_DENIED, "forbidden"


class RateLimited(DomainError):
    """429 with Retry-After; with a `policy` also the IETF RateLimit headers, e.g. policy
    `"turns";q=10;w=20` (10 at once, refilled over 20 s) gives `RateLimit-Policy` as is
    and `RateLimit: "turns";r=0;t=<retry_after>`."""

    status, grpc_code = 429, grpc.StatusCode.RESOURCE_EXHAUSTED
    default_message = "too many requests"

    def __init__(self, message: str | None = None, *, retry_after: int, policy: str | None = None):
        retry_after = max(1, retry_after)
        headers = {"Retry-After": str(retry_after)}
        if policy:
            name = policy.split(";", 1)[0]
            headers |= {"RateLimit-Policy": policy, "RateLimit": f"{name};r=0;t={retry_after}"}
        super().__init__(message, headers=headers)
        self.retry_after = retry_after
        self.policy = policy

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        policy = ((RATE_LIMIT_POLICY_METADATA, self.policy),) if self.policy else ()
        return ((RETRY_AFTER_METADATA, str(self.retry_after)), *policy)


class UpstreamFailed(DomainError):
    status, grpc_code, default_message = 502, grpc.StatusCode.UNAVAILABLE, "upstream failed"


class UpstreamTimeout(DomainError):
    status, grpc_code = 504, grpc.StatusCode.DEADLINE_EXCEEDED
    default_message = "upstream timed out"


class Unavailable(DomainError):
    status, grpc_code, default_message = 503, grpc.StatusCode.UNAVAILABLE, "service unavailable"


GRPC_TO_ERROR: dict[grpc.StatusCode, type[DomainError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidInput,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: Conflict,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.DEADLINE_EXCEEDED: UpstreamTimeout,
}


def from_grpc(
    code: grpc.StatusCode,
    details: str | None,
    trailing_metadata: Sequence[tuple[str, str | bytes]] | None = None,
) -> DomainError:
    """The domain error a gRPC status stands for (unknown codes become UpstreamFailed);
    RESOURCE_EXHAUSTED is RateLimited with the `retry-after` it carries."""
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        trailers = _text_metadata(trailing_metadata or ())
        retry_after = trailers.get(RETRY_AFTER_METADATA, "")
        return RateLimited(
            details or None,
            retry_after=int(retry_after) if retry_after.isdigit() else 1,
            policy=trailers.get(RATE_LIMIT_POLICY_METADATA),
        )
    return GRPC_TO_ERROR.get(code, UpstreamFailed)(details or None)


def _text_metadata(metadata: Sequence[tuple[str, str | bytes]]) -> dict[str, str]:
    return {
        key: value.decode("latin-1") if isinstance(value, bytes) else value
        for key, value in metadata
    }


def _validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Keep FastAPI's shape but drop the echoed input: it may be large or sensitive.
    return [{k: v for k, v in err.items() if k in ("type", "loc", "msg")} for err in exc.errors()]


def install_error_handlers(app: FastAPI) -> None:
    """`{"detail": ...}` for every error, with the right status, and no stack traces."""

    async def on_domain_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=exc.headers)

    async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"detail": _validation_detail(exc)}, status_code=422)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The last resort (Starlette's outermost layer): an app built with build_app()
        # answers unexpected errors in UnhandledErrorMiddleware, inside the request id.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _internal_error()

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)


def _internal_error() -> JSONResponse:
    return JSONResponse({"detail": "internal error"}, status_code=500)


class UnhandledErrorMiddleware:
    """A 500 for an exception the app did not handle, answered inside the request-id
    middleware (Starlette answers it in ServerErrorMiddleware, outside every middleware
    the app adds), so the response and the log line carry the request id. Pure ASGI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started:  # too late for a 500: the server cuts the response
                raise
            await _internal_error()(scope, receive, send)
