"""Who a request acts for: the user whose access token the request carried, verified."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True, slots=True)
class RequestContext:
    # Every gRPC call of the request (and of its reply, which may outlive the token)
    # goes out under the agent's service identity, acting for this user.
    user_id: UUID
