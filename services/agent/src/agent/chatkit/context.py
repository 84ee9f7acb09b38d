"""The per-request ChatKit context: who asks, and what this one request already knows.

Nothing here outlives the request (the agent is stateless); the caches only save
repeated gRPC calls between the SDK's steps of a single request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from chatkit.types import ThreadItem, ThreadMetadata

from agent.context import RequestContext
from agent.turn_events import StartedTurn


@dataclass(slots=True)
class ChatContext:
    # The verified user (every gRPC call acts for them).
    auth: RequestContext
    # The user's language tag (from Accept-Language), passed to the model as a hint.
    locale: str | None = None
    # The gateway's URL as the client sees it: attachments' upload and preview URLs.
    public_url: str = ""
    # Threads loaded or saved during this request, as stored (skips redundant writes).
    threads: dict[str, ThreadMetadata] = field(default_factory=dict)
    # Thread ids generated in this request and not yet created.
    new_threads: set[str] = field(default_factory=set)
    # User item id -> its turn: the `in_progress` reply StartTurn stored with it, and
    # the history that reply answers (read by the same call).
    replies: dict[str, StartedTurn] = field(default_factory=dict)
    # (thread id, item id) -> the item the server's check read before the SDK runs; the
    # SDK's own load of it next takes it from here once instead of reading it again.
    checked_items: dict[tuple[str, str], ThreadItem] = field(default_factory=dict)
    # Items `respond` already stored in their final state (the SDK's save is skipped).
    stored_items: set[str] = field(default_factory=set)
    # A page the client sees (items.list, threads.get_by_id): the SDK drops hidden items
    # from it, so they do not count towards its limit (other callers get `limit` rows).
    client_page: bool = False

    @property
    def user_id(self) -> UUID:
        return self.auth.user_id
