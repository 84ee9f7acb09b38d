"""Large data for cases 4 and 5, written with COPY (never row by row), outside any timing.

Rows follow the conversations service's schema (services/conversations/migrations): ids
are random UUIDs, `seq` comes from the identity column, and rows are written in time
order with the owners interleaved, so one user's rows are spread over the table as they
would be after years of use (not packed together, which would flatter the queries).
"""

from __future__ import annotations

import datetime
import os
import random
from collections.abc import Iterator, Sequence

import psycopg

CHUNK_ROWS = 20_000
FILLER_CONVERSATIONS_PER_USER = 100
START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


def _uuids(count: int) -> Iterator[str]:
    """Random version-less UUIDs as 32 hex digits (Postgres reads them without dashes)."""
    raw = os.urandom(16 * count).hex()
    for i in range(count):
        yield raw[32 * i : 32 * i + 32]


def _owners(total: int, owners: Sequence[tuple[str, int]]) -> list[str]:
    """The owner of each of `total` rows: the given users with their counts, the rest
    spread over filler users; shuffled so every user's rows are interleaved."""
    rows = [user for user, count in owners for _ in range(count)]
    fillers = max(0, total - len(rows))
    filler_users = list(_uuids(fillers // FILLER_CONVERSATIONS_PER_USER + 1))
    rows += [filler_users[i // FILLER_CONVERSATIONS_PER_USER] for i in range(fillers)]
    random.Random(7).shuffle(rows)
    return rows


def _copy(
    conn: psycopg.Connection[tuple[object, ...]], statement: str, lines: Iterator[str]
) -> None:
    with conn.cursor() as cur, cur.copy(statement) as copy:
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) >= CHUNK_ROWS:
                copy.write("".join(chunk))
                chunk.clear()
        if chunk:
            copy.write("".join(chunk))


def seed_conversations(
    conn: psycopg.Connection[tuple[object, ...]], total: int, owners: Sequence[tuple[str, int]]
) -> None:
    """`total` conversations: each (user id, count) of `owners` gets its count, fillers
    the rest; one second apart in `updated_at`, oldest first."""
    owner_of = _owners(total, owners)

    def lines() -> Iterator[str]:
        for i, (conversation_id, user) in enumerate(zip(_uuids(total), owner_of, strict=True)):
            at = (START + datetime.timedelta(seconds=i)).isoformat()
            yield f"{conversation_id}\t{user}\tConversation {i}\t{at}\t{at}\n"

    _copy(
        conn,
        "COPY conversations (id, user_id, title, created_at, updated_at) FROM STDIN",
        lines(),
    )


def seed_history(
    conn: psycopg.Connection[tuple[object, ...]], user_id: str, sizes: Sequence[int]
) -> list[str]:
    """One conversation per size with that many messages (user and assistant taking
    turns, complete), their messages interleaved in time; returns the conversation ids."""
    ids = list(_uuids(len(sizes)))
    now = datetime.datetime.now(datetime.UTC).isoformat()
    _copy(
        conn,
        "COPY conversations (id, user_id, title, created_at, updated_at) FROM STDIN",
        iter(
            f"{cid}\t{user_id}\tHistory of {size}\t{now}\t{now}\n"
            for cid, size in zip(ids, sizes, strict=True)
        ),
    )
    owner_of = _owners(sum(sizes), list(zip(ids, sizes, strict=True)))
    text = (
        "A message of about a hundred characters, as people write them when they chat with a bot."
    )

    def lines() -> Iterator[str]:
        for i, (message_id, cid) in enumerate(zip(_uuids(len(owner_of)), owner_of, strict=True)):
            role = "user" if i % 2 == 0 else "assistant"
            at = (START + datetime.timedelta(milliseconds=i)).isoformat()
            yield f"{message_id}\t{cid}\t{user_id}\t{role}\t{text} {i}\tcomplete\t{at}\t{at}\n"

    _copy(
        conn,
        "COPY messages (id, conversation_id, user_id, role, content, status, created_at,"
        " updated_at) FROM STDIN",
        lines(),
    )
    return ids


SEARCH_VOCABULARY = 500  # words `term0`..`term499`; each message holds two of them
SEARCH_MESSAGES_PER_CONVERSATION = 1_000


def seed_search(
    conn: psycopg.Connection[tuple[object, ...]], owners: Sequence[tuple[str, int]]
) -> None:
    """Each (user id, count) of `owners` gets `count` messages in conversations of up to
    SEARCH_MESSAGES_PER_CONVERSATION, all interleaved in time; every message holds two
    of the vocabulary's words (so a word is in about 1 message in 250)."""
    per = SEARCH_MESSAGES_PER_CONVERSATION
    conversations = [  # (conversation id, user id, its message count)
        (cid, user, min(per, count - i * per))
        for user, count in owners
        for i, cid in enumerate(_uuids(-(-count // per)))
    ]
    owner_of_conversation = {cid: user for cid, user, _ in conversations}
    now = datetime.datetime.now(datetime.UTC).isoformat()
    _copy(
        conn,
        "COPY conversations (id, user_id, title, created_at, updated_at) FROM STDIN",
        iter(f"{cid}\t{user}\tSearch bench\t{now}\t{now}\n" for cid, user, _ in conversations),
    )
    owner_of = _owners(sum(n for *_, n in conversations), [(c, n) for c, _, n in conversations])
    text = "A message of about a hundred characters, as people write them to a bot:"
    rng = random.Random(11)

    def lines() -> Iterator[str]:
        for i, (message_id, cid) in enumerate(zip(_uuids(len(owner_of)), owner_of, strict=True)):
            user = owner_of_conversation[cid]
            words = f"term{rng.randrange(SEARCH_VOCABULARY)} term{rng.randrange(SEARCH_VOCABULARY)}"
            at = (START + datetime.timedelta(milliseconds=i)).isoformat()
            yield f"{message_id}\t{cid}\t{user}\tuser\t{text} {words}\tcomplete\t{at}\t{at}\n"

    _copy(
        conn,
        "COPY messages (id, conversation_id, user_id, role, content, status, created_at,"
        " updated_at) FROM STDIN",
        lines(),
    )


def settle(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Statistics and visibility map up to date, as autovacuum would leave them."""
    conn.execute("VACUUM ANALYZE conversations")
    conn.execute("VACUUM ANALYZE messages")
