"""REST: GET /api/chat/search, a thin handler over `conversations.search`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from sqlmodel import SQLModel

from conversations import search
from conversations.deps import CurrentUser, SessionDep, StateDep
from conversations.models import Role

router = APIRouter(prefix="/api/chat", tags=["search"])


class SearchHitPublic(SQLModel):
    conversation_id: UUID
    # null for a hit on the conversation's title (role "title").
    message_id: UUID | None
    role: Role | Literal["title"]
    # Matches between U+0002 and U+0003 (plain text, never HTML).
    snippet: str
    # The message's time; a title hit: the conversation's.
    created_at: datetime


class SearchPagePublic(SQLModel):
    items: list[SearchHitPublic]
    next_cursor: str | None


@router.get("/search", responses={422: {"description": "Bad q, limit or cursor"}})
async def search_messages(
    user: CurrentUser,
    db: SessionDep,
    state: StateDep,
    q: Annotated[str, Query(min_length=1, max_length=search.QUERY_MAX_CHARS)],
    limit: Annotated[int, Query(ge=1, le=search.MAX_SEARCH_SIZE)] = search.DEFAULT_SEARCH_SIZE,
    cursor: Annotated[str | None, Query(max_length=120)] = None,
) -> SearchPagePublic:
    """The caller's messages and conversation titles matching `q` (websearch syntax:
    `"a phrase"`, `or`, `-word`; the last word also matches as a prefix), best first;
    pass `next_cursor` back as `cursor` for the next page."""
    page = await search.search(
        db,
        user_id=user,
        query=q,
        limit=limit,
        cursor=cursor,
        language=state.settings.search_language,
    )
    return SearchPagePublic(items=[_public(hit) for hit in page.hits], next_cursor=page.next_cursor)


def _public(hit: search.SearchHit) -> SearchHitPublic:
    return SearchHitPublic(
        conversation_id=hit.conversation_id,  # type: ignore[arg-type]  # pydantic parses it
        message_id=hit.message_id,  # type: ignore[arg-type]
        role=hit.role,  # type: ignore[arg-type]  # a message role (CHECK) or "title"
        snippet=hit.snippet,
        created_at=hit.created_at,
    )
