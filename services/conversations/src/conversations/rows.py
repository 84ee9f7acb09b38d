"""Running one statement of `sql.py` and turning its rows into records, with database
errors a client caused (a duplicate, a value Postgres cannot store) as domain errors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from chat_common.errors import Conflict, InvalidInput, NotFound
from psycopg import AsyncConnection, AsyncCursor, DataError
from psycopg import errors as pg_errors

from conversations.models import ConversationRecord, MessageRecord

# A pooled psycopg connection (see db.py) in autocommit mode; rows are tuples.
Connection = AsyncConnection[tuple[Any, ...]]
Rows = AsyncCursor[tuple[Any, ...]]


@contextmanager
def domain_errors() -> Iterator[None]:
    try:
        yield
    except pg_errors.UniqueViolation as exc:
        raise Conflict("already exists") from exc
    except DataError as exc:  # a value Postgres cannot store (e.g. out of range)
        raise InvalidInput("invalid value") from exc


async def execute(db: Connection, query: str, params: Mapping[str, Any]) -> Rows:
    with domain_errors():
        return await db.execute(query, params)


async def one_or_none(
    db: Connection, query: str, params: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    return await (await execute(db, query, params)).fetchone()


async def found(
    db: Connection, query: str, params: Mapping[str, Any], what: str
) -> tuple[Any, ...]:
    row = await one_or_none(db, query, params)
    if row is None:
        raise NotFound(f"{what} not found")
    return row


def conversation(row: Sequence[Any]) -> ConversationRecord:
    return ConversationRecord(*row)


def message(row: Sequence[Any]) -> MessageRecord:
    return MessageRecord(*row)
