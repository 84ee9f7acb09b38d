"""The usage ledger: a user's model tokens per UTC day and model, aggregated on read.

Every reply stores its usage and model (messages.input_tokens / output_tokens / model,
set by the agent's final write), so there is no second copy to keep in step: a read
scans one user's replies in the date range through ix_messages_user_created (migration
0006), bounded by MAX_RANGE_DAYS. Replies of deleted conversations still count: the
tokens were spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from uuid import UUID

from chat_common.errors import InvalidInput

from conversations.rows import Connection, execute

DEFAULT_RANGE_DAYS: Final = 30
MAX_RANGE_DAYS: Final = 366

# `turns`: replies a turn started (StartTurn sets reply_to); a tool round's further
# replies add tokens, not turns.
USAGE_BY_DAY_AND_MODEL = """
SELECT CAST(m.created_at AT TIME ZONE 'UTC' AS date) AS day, COALESCE(m.model, '') AS model,
       sum(m.input_tokens), sum(m.output_tokens), count(m.reply_to)
FROM messages m
WHERE m.user_id = %(user_id)s AND m.role = 'assistant'
  AND m.created_at >= %(start)s AND m.created_at < %(end)s
GROUP BY 1, 2
ORDER BY 1, 2
"""


@dataclass(frozen=True, slots=True)
class DayUsage:
    day: date
    model: str  # "" for replies stored before models were recorded
    input_tokens: int
    output_tokens: int
    turns: int


def date_range(first: date | None, last: date | None, *, today: date) -> tuple[date, date]:
    """The inclusive range asked for: by default the last DEFAULT_RANGE_DAYS days up to
    `last` (today by default); at most MAX_RANGE_DAYS days, `first` not after `last`."""
    try:
        last = last or (today if first is None else min(today, first + _days(MAX_RANGE_DAYS)))
        first = first or last - _days(DEFAULT_RANGE_DAYS)
        _midnight(last, 1)  # the end of the range must be a representable time too
    except OverflowError:
        raise InvalidInput("dates out of range") from None
    if first > last:
        raise InvalidInput("from must not be after to")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(f"at most {MAX_RANGE_DAYS} days at a time")
    return first, last


def _days(count: int) -> timedelta:
    return timedelta(days=count - 1)


async def usage(db: Connection, *, user_id: UUID, first: date, last: date) -> list[DayUsage]:
    """The user's usage per day (UTC) and model, from `first` to `last` inclusive."""
    params = {"user_id": user_id, "start": _midnight(first), "end": _midnight(last, 1)}
    rows = await (await execute(db, USAGE_BY_DAY_AND_MODEL, params)).fetchall()
    return [DayUsage(*row) for row in rows]


def _midnight(day: date, plus_days: int = 0) -> datetime:
    return datetime.combine(day + timedelta(days=plus_days), time(), tzinfo=UTC)
