"""`POST /internal/token`: the client-credentials grant (RFC 6749 §4.4) for internal
services. Not under /api/: the gateway never routes it, only the services' network can.

The body is `application/x-www-form-urlencoded`, parsed here (small, strict: every
parameter at most once, as §3.2 requires); the client authenticates with HTTP Basic
(§2.3.1: id and secret form-urlencoded, then base64) or with body parameters.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from chat_common.errors import DomainError, InvalidInput
from fastapi import APIRouter, Request, Response

from auth.clients import InvalidClient
from auth.deps import StateDep
from auth.models import storable_text

router = APIRouter()

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_BODY_BYTES = 4096
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class BadTokenRequest(DomainError):
    status, default_message = 400, "invalid request"


async def _form(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM_TYPE:
        raise BadTokenRequest(f"the body must be {FORM_TYPE}")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BadTokenRequest("request too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        for name, value in pairs:
            storable_text(name)
            storable_text(value)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the body is not valid form-encoded text") from None
    form = dict(pairs)
    if len(form) != len(pairs):
        raise BadTokenRequest("a parameter is repeated")
    return form


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise InvalidClient()
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient() from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise InvalidClient()
    return unquote_plus(client_id), unquote_plus(secret)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    basic = _basic_credentials(request.headers.get("authorization"))
    in_body = "client_id" in form or "client_secret" in form
    if basic is not None and in_body:
        raise BadTokenRequest("use one client authentication method, not two")
    if basic is not None:
        return basic
    if "client_id" not in form or "client_secret" not in form:
        raise InvalidClient()
    return form["client_id"], form["client_secret"]


_ANSWERS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Unsupported grant type or malformed request"},
    401: {"description": "Invalid client (see WWW-Authenticate)"},
    422: {"description": "A body that is not form-encoded text Postgres could store"},
}


@router.post(
    "/internal/token",
    responses=_ANSWERS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                FORM_TYPE: {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string"},
                            "scope": {"type": "string"},
                        },
                    }
                }
            },
        }
    },
)
async def token(request: Request, state: StateDep, response: Response) -> dict[str, Any]:
    """A service token for an internal client (never routed by the gateway)."""
    form = await _form(request)
    client = state.clients.authenticate(*_client_credentials(request, form))
    if form.get("grant_type") != "client_credentials":
        raise BadTokenRequest("unsupported grant type")
    requested = set(form.get("scope", "").split())
    if not requested <= set(client.scope.split()):
        raise BadTokenRequest("invalid scope")
    response.headers.update(NO_STORE)
    return {
        "access_token": state.service_tokens.issue(client),
        "token_type": "bearer",
        "expires_in": state.service_tokens.ttl_seconds,
        "scope": client.scope,
    }
