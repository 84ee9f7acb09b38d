"""The usage ledger: a user's model tokens per UTC day and model.

Read from `usage_days` (migration 0010), one row per user, day and model, added to when
a reply becomes final (a trigger, in the same statement as the write): a read is
O(days * models) through its primary key, bounded by MAX_RANGE_DAYS. Deleting a reply or
a conversation, or the retention purge, leaves the ledger alone: the tokens were spent.
Only the deletion of the user's account removes it (accounts.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final
from uuid import UUID

from chat_common.errors import InvalidInput

from conversations.rows import Connection, execute

DEFAULT_RANGE_DAYS: Final = 30
MAX_RANGE_DAYS: Final = 366

# `turns`: replies a turn started (StartTurn sets reply_to); a tool round's further
# replies add tokens, not turns.
USAGE_BY_DAY_AND_MODEL = """
SELECT d.day, d.model, d.input_tokens, d.output_tokens, d.turns
FROM usage_days d
WHERE d.user_id = %(user_id)s AND d.day BETWEEN %(first)s AND %(last)s
ORDER BY d.day, d.model
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
    params = {"user_id": user_id, "first": first, "last": last}
    rows = await (await execute(db, USAGE_BY_DAY_AND_MODEL, params)).fetchall()
    return [DayUsage(*row) for row in rows]
