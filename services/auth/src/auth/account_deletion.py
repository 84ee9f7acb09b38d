"""Deleted accounts: their outbox rows and the in-memory marker `/verify` checks.

Deleting an account removes its user row and, in the same transaction, writes an
`auth_account_deletions` row: the outbox the courier (auth.deletion_courier) delivers to
conversations, which deletes the account's data. The same row marks the user deleted:
an access token stays valid until its `exp`, so `/verify` refuses tokens of any user
deleted within the last token lifetime (plus leeway).

`/verify` answers every API request and never touches the database: each replica keeps
the recently deleted ids in memory (`DeletedUsers`) and re-reads them every
`DELETED_USERS_REFRESH_SECONDS` (at most 1 s; an indexed read of a handful of rows),
so a deletion made on any replica is refused everywhere within that time, and on the
replica that made it at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import partial

from chat_common.periodic import run_every
from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from auth.db import Sessions
from auth.models import AccountDeletion, User

# --- data functions (the caller owns the transaction) --------------------------------


async def delete_user(s: AsyncSession, *, user_id: uuid.UUID) -> None:
    """The user row goes (its refresh families and tokens by cascade) and the outbox row
    comes, in the caller's one transaction: no deletion without its delivery."""
    await s.execute(delete(User).where(col(User.id) == user_id))
    # Two deletions racing (two tabs) both got past the password: one row is enough.
    await s.execute(insert(AccountDeletion).values(user_id=user_id).on_conflict_do_nothing())


async def deleted_within(s: AsyncSession, *, seconds: float) -> Sequence[uuid.UUID]:
    statement = select(col(AccountDeletion.user_id)).where(
        col(AccountDeletion.requested_at)
        > text("now() - :seconds * interval '1 second'").bindparams(seconds=seconds)
    )
    return (await s.execute(statement)).scalars().all()


_CLAIM_DUE = text(
    """
    UPDATE auth_account_deletions SET attempts = attempts + 1,
        next_attempt_at = now() + LEAST(:retry * power(2, LEAST(attempts, 20)), :retry_max)
                                  * interval '1 second'
    WHERE user_id IN (SELECT user_id FROM auth_account_deletions
                      WHERE delivered_at IS NULL AND next_attempt_at <= now()
                      ORDER BY next_attempt_at LIMIT :limit FOR UPDATE SKIP LOCKED)
    RETURNING user_id
    """
)


async def claim_due(
    s: AsyncSession, *, limit: int, retry_seconds: float, retry_max_seconds: float
) -> Sequence[uuid.UUID]:
    """Deletions due for delivery, each leased until its next attempt (backing off
    exponentially), so that several replicas never deliver the same one at once."""
    params = {"limit": limit, "retry": retry_seconds, "retry_max": retry_max_seconds}
    return (await s.execute(_CLAIM_DUE, params)).scalars().all()


async def mark_delivered(s: AsyncSession, *, user_id: uuid.UUID) -> None:
    await s.execute(
        update(AccountDeletion)
        .where(col(AccountDeletion.user_id) == user_id)
        .values(delivered_at=text("now()"))
    )


async def purge_delivered(s: AsyncSession, *, older_than_seconds: float) -> None:
    """Drops rows that are delivered and too old to mark any unexpired token."""
    await s.execute(
        text(
            "DELETE FROM auth_account_deletions WHERE delivered_at IS NOT NULL "
            "AND requested_at < now() - :seconds * interval '1 second'"
        ),
        {"seconds": older_than_seconds},
    )


# --- the marker /verify checks ---------------------------------------------------------


class DeletedUsers:
    """The users deleted within `horizon_seconds` (the longest a token of theirs may
    still be unexpired), kept in memory and refreshed from the database."""

    def __init__(self, *, horizon_seconds: float, refresh_seconds: float) -> None:
        self.horizon_seconds = horizon_seconds
        self.refresh_seconds = refresh_seconds
        self._ids: frozenset[uuid.UUID] = frozenset()
        self._added_meanwhile: set[uuid.UUID] = set()

    def __contains__(self, user_id: uuid.UUID) -> bool:
        return user_id in self._ids

    def add(self, user_id: uuid.UUID) -> None:
        """This replica's own deletion (committed): refused at once, before any refresh."""
        self._ids = self._ids | {user_id}
        self._added_meanwhile.add(user_id)

    async def refresh(self, db: Sessions) -> None:
        self._added_meanwhile.clear()
        async with db() as s:
            fresh = await deleted_within(s, seconds=self.horizon_seconds)
        # An `add` while the read ran may not be in it: keep it for the next round.
        self._ids = frozenset(fresh) | self._added_meanwhile

    async def refresh_forever(self, db: Sessions) -> None:
        await run_every(
            self.refresh_seconds, partial(self.refresh, db), what="reading deleted accounts"
        )
