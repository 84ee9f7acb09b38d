"""REST: GET /api/chat/usage, a thin handler over `conversations.usage`."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import SQLModel

from conversations import usage
from conversations.deps import CurrentUser, SessionDep

router = APIRouter(prefix="/api/chat", tags=["usage"])


class UsagePublic(SQLModel):
    day: date  # UTC
    # The model the replies came from; "" for replies stored before it was recorded.
    model: str
    input_tokens: int
    output_tokens: int
    turns: int


class UsagePagePublic(SQLModel):
    items: list[UsagePublic]


@router.get(
    "/usage", responses={422: {"description": "Bad dates, from after to, or over 366 days"}}
)
async def get_usage(
    user: CurrentUser,
    db: SessionDep,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: Annotated[date | None, Query()] = None,
) -> UsagePagePublic:
    """The caller's model tokens per UTC day and model, oldest first, `from` to `to`
    inclusive (ISO dates; default the last 30 days, at most 366)."""
    today = datetime.now(UTC).date()
    first, last = usage.date_range(from_, to, today=today)
    rows = await usage.usage(db, user_id=user, first=first, last=last)
    return UsagePagePublic(items=[UsagePublic(**asdict(row)) for row in rows])
