"""Who a request acts for: the verified user and the raw token forwarded over gRPC."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True, slots=True)
class RequestContext:
    user_id: UUID
    # The caller's access token: every gRPC call to conversations carries it,
    # so the conversations service scopes the call to this user.
    token: str
