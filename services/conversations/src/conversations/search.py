"""Full-text search of one user's messages and conversation titles (GET /api/chat/search).

Postgres does it all: generated `tsvector` columns with GIN indexes (migration 0004),
`websearch_to_tsquery` for what users type (`"a phrase"`, `or`, `-exclusion`), plus a
prefix match on the last word while it is being typed, `ts_rank` for the order and
`ts_headline` for the snippet. One statement, scoped by user id, live conversations only.

Order: best rank first, then newest, then id; the cursor is that triple of the last hit
(keyset), so pages neither repeat nor skip while nothing changes.
Snippets mark each match between HIGHLIGHT_START and HIGHLIGHT_END (STX and ETX, removed
from the text first, so a marker is always ours): plain text, never HTML.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from chat_common.errors import InvalidInput

from conversations.checks import check_limit, epoch_micros, from_epoch_micros
from conversations.rows import Connection, execute

DEFAULT_SEARCH_SIZE: Final = 20
MAX_SEARCH_SIZE: Final = 50
QUERY_MAX_CHARS: Final = 200
HIGHLIGHT_START: Final = "\x02"
HIGHLIGHT_END: Final = "\x03"
TITLE_ROLE: Final = "title"  # the role of a hit on a conversation's title (no message)

_HEADLINE = (
    f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_END}, MaxWords=30, MinWords=10,"
    ' MaxFragments=2, FragmentDelimiter=" … "'
)
_CONFIG = "CAST(%(language)s AS regconfig)"
# An empty prefix gives an empty tsquery, which `&&` leaves out.
_TSQUERY = f"websearch_to_tsquery({_CONFIG}, %(text)s) && to_tsquery({_CONFIG}, %(prefix)s)"

_SEARCH = f"""
WITH q AS (SELECT {_TSQUERY} AS query),
hits AS (
  SELECT m.conversation_id, m.id AS message_id, m.role, m.content AS body, m.created_at,
         m.id AS key, ts_rank(m.search_vector, q.query) AS rank
  FROM q CROSS JOIN messages m JOIN conversations c ON c.id = m.conversation_id
  WHERE m.user_id = %(user_id)s AND c.user_id = %(user_id)s AND c.deleted_at IS NULL
    AND m.search_vector @@ q.query
  UNION ALL
  SELECT c.id, NULL, '{TITLE_ROLE}', c.title, c.created_at, c.id,
         ts_rank(c.title_vector, q.query)
  FROM q CROSS JOIN conversations c
  WHERE c.user_id = %(user_id)s AND c.deleted_at IS NULL AND c.title_vector @@ q.query
), page AS (
  SELECT * FROM hits {{after}}
  ORDER BY rank DESC, created_at DESC, key DESC
  LIMIT %(limit)s
)
SELECT CAST(p.conversation_id AS text), CAST(p.message_id AS text), p.role,
       ts_headline({_CONFIG}, translate(p.body, E'\\x02\\x03', ''), q.query, %(headline)s),
       p.created_at, CAST(p.key AS text), p.rank
FROM page p CROSS JOIN q
ORDER BY p.rank DESC, p.created_at DESC, p.key DESC
"""
SEARCH_FIRST = _SEARCH.format(after="")
# Keyset: strictly after the cursor's (rank, created_at, key), all descending.
SEARCH_AFTER = _SEARCH.format(
    after="WHERE (rank, created_at, key)"
    " < (CAST(%(cursor_rank)s AS real), %(cursor_created_at)s, %(cursor_key)s)"
)


@dataclass(frozen=True, slots=True)
class SearchHit:
    conversation_id: str  # UUIDs as text
    message_id: str | None  # None: the conversation's title matched
    role: str  # a message role, or TITLE_ROLE
    snippet: str
    created_at: datetime
    key: str  # the message id, or the conversation id of a title hit
    rank: float


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[SearchHit]
    next_cursor: str | None


async def search(
    db: Connection,
    *,
    user_id: UUID,
    query: str,
    limit: int = DEFAULT_SEARCH_SIZE,
    cursor: str | None = None,
    language: str = "simple",
) -> SearchPage:
    """The user's messages and titles matching `query`, best first."""
    check_limit(limit, MAX_SEARCH_SIZE)
    text, prefix = split_query(valid_query(query))
    params: dict[str, Any] = {
        "user_id": user_id,
        "language": language,
        "text": text,
        "prefix": prefix,
        "headline": _HEADLINE,
        "limit": limit + 1,
    }
    statement = SEARCH_FIRST
    if cursor:
        keys = ("cursor_rank", "cursor_created_at", "cursor_key")
        params.update(zip(keys, decode_search_cursor(cursor), strict=True))
        statement = SEARCH_AFTER
    rows = await (await execute(db, statement, params)).fetchall()
    hits = [SearchHit(*row) for row in rows[:limit]]
    next_cursor = encode_search_cursor(hits[-1]) if len(rows) > limit else None
    return SearchPage(hits=hits, next_cursor=next_cursor)


def valid_query(query: str) -> str:
    if "\x00" in query:
        raise InvalidInput("q must not contain NUL characters")
    if not query.strip() or len(query) > QUERY_MAX_CHARS:
        raise InvalidInput(f"q must be 1..{QUERY_MAX_CHARS} characters, not only spaces")
    return query


# The last word, when it is bare (letters and digits only, typed to the end of the query):
# safe to hand to to_tsquery as `word:*`, since it holds no operator.
_LAST_BARE_WORD = re.compile(r"(?:^|\s)([^\W_]+)$")


def split_query(query: str) -> tuple[str, str]:
    """(websearch text, to_tsquery prefix or ""): the last word becomes a prefix match
    while it is being typed, unless it is quoted, excluded, or `or` is in play (where
    AND-ing a prefix would change the meaning); a trailing space ends the word."""
    match = _LAST_BARE_WORD.search(query)
    head = query[: match.start(1)] if match else query
    words = {word.lower() for word in query.split()}
    if match is None or head.count('"') % 2 or "or" in words:
        return query, ""
    return head, f"{match.group(1)}:*"


def encode_search_cursor(last: SearchHit) -> str:
    raw = f"{last.rank!r}:{epoch_micros(last.created_at)}:{last.key.replace('-', '')}"
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


_CURSOR = re.compile(r"([0-9.e+-]{1,30}):(-?\d{1,20}):([0-9a-f]{32})")


def decode_search_cursor(cursor: str) -> tuple[float, datetime, UUID]:
    """The (rank, created_at, key) a cursor continues after; InvalidInput otherwise."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        match = _CURSOR.fullmatch(base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii"))
        if len(cursor) > 120 or match is None:
            raise ValueError
        rank = float(match.group(1))
        if not math.isfinite(rank):
            raise ValueError
        return rank, from_epoch_micros(int(match.group(2))), UUID(hex=match.group(3))
    except (ValueError, UnicodeError, binascii.Error, OverflowError):
        raise InvalidInput("invalid cursor") from None
