"""`/verify`, nginx's `auth_request`, answered in raw ASGI in front of the FastAPI app.

The gateway asks this on every API request. A full FastAPI request (routing, dependency
injection, response classes) cost several times the token check itself, so this path is
handled before any of it, much as the offline model serves its hot path. Same answers as
a route would give: 200 + `X-User-Id`, or 401 `{"detail": ...}` with `WWW-Authenticate:
Bearer`; any method (the subrequest keeps the client's); `X-Request-ID` echoed. Tokens are
checked against the service's own keys in memory, and a deleted account's against the
in-memory `DeletedUsers` (auth.account_deletion), so the database is never touched.
"""

from __future__ import annotations

import orjson
from chat_common.errors import Unauthenticated
from chat_common.logs import REQUEST_ID_HEADER, clean_request_id, request_id_var
from chat_common.tokens import CachingVerifier
from starlette.types import ASGIApp, Receive, Scope, Send

from auth.account_deletion import DeletedUsers
from auth.metrics import VERIFY_DENIED, VERIFY_OK

VERIFY_PATH = "/verify"
_AUTHORIZATION = b"authorization"
_REQUEST_ID = REQUEST_ID_HEADER.encode()


class VerifyRoute:
    """ASGI middleware: `/verify` here, every other request on to `app`."""

    def __init__(
        self, app: ASGIApp, *, verifier: CachingVerifier, deleted_users: DeletedUsers
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.deleted_users = deleted_users

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != VERIFY_PATH:
            await self.app(scope, receive, send)
            return
        authorization = incoming_id = None
        for name, value in scope["headers"]:
            if name == _AUTHORIZATION and authorization is None:
                authorization = value.decode("latin-1")
            elif name == _REQUEST_ID and incoming_id is None:
                incoming_id = value.decode("latin-1")
        request_id = clean_request_id(incoming_id)
        context = request_id_var.set(request_id)  # as RequestIdMiddleware: log lines carry it
        try:
            status, headers, body = await self._answer(authorization)
            headers.append((_REQUEST_ID, request_id.encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        finally:
            request_id_var.reset(context)

    async def _answer(
        self, authorization: str | None
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        try:
            token = await self.verifier.authenticate(authorization)
            if token.user_id in self.deleted_users:
                raise Unauthenticated("unknown user")  # as /me answers a deleted user
        except Unauthenticated as exc:
            VERIFY_DENIED.inc()
            body = orjson.dumps({"detail": exc.message})
            headers = [
                (b"content-length", str(len(body)).encode()),
                (b"content-type", b"application/json"),
            ]
            headers.extend(
                (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items()
            )
            return 401, headers, body
        VERIFY_OK.inc()
        user_id = str(token.user_id).encode()
        return 200, [(b"content-length", b"0"), (b"x-user-id", user_id)], b""
