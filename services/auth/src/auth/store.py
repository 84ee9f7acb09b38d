"""Data functions (keyword-only). Callers own the transaction: each takes a session
inside `async with sessionmaker.begin()`. Times come from the database (`now()`),
so every replica agrees on windows and expiry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from auth.models import AddressFailures, LoginThrottle, RefreshFamily, RefreshToken, User


async def create_user(s: AsyncSession, *, email: str, password_hash: str) -> User | None:
    """The new user, or None when the email is taken."""
    statement = (
        insert(User)
        .values(id=uuid.uuid4(), email=email, password_hash=password_hash)
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(col(User.id))
    )
    user_id = (await s.execute(statement)).scalar_one_or_none()
    return None if user_id is None else await s.get(User, user_id)


async def get_user(s: AsyncSession, *, user_id: uuid.UUID) -> User | None:
    return await s.get(User, user_id)


async def get_user_by_email(s: AsyncSession, *, email: str) -> User | None:
    return (await s.execute(select(User).where(col(User.email) == email))).scalar_one_or_none()


async def set_password_hash(s: AsyncSession, *, user_id: uuid.UUID, password_hash: str) -> None:
    await s.execute(update(User).where(col(User.id) == user_id).values(password_hash=password_hash))


# --- login throttle ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PairState:
    failures: int  # counted so far, including attempts still running
    seconds_since_last: float


async def lock_pair(s: AsyncSession, *, email: str, address: str) -> PairState:
    """The (email, address) row, created if new and locked for this transaction, so
    parallel guesses from one pair are counted one after another."""
    await s.execute(
        insert(LoginThrottle)
        .values(email=email, address=address, failures=0, last_attempt_at=text("now()"))
        .on_conflict_do_nothing(index_elements=["email", "address"])
    )
    row = (
        await s.execute(
            text(
                # clock_timestamp(), not now(): this may have waited for the lock while
                # another attempt committed a last_attempt_at later than our now().
                "SELECT failures, "
                "GREATEST(EXTRACT(EPOCH FROM clock_timestamp() - last_attempt_at), 0) "
                "FROM auth_login_throttle WHERE email = :email AND address = :address "
                "FOR UPDATE"
            ),
            {"email": email, "address": address},
        )
    ).one()
    return PairState(failures=int(row[0]), seconds_since_last=float(row[1]))


async def count_pair_attempt(s: AsyncSession, *, email: str, address: str, failures: int) -> None:
    await s.execute(
        update(LoginThrottle)
        .where(col(LoginThrottle.email) == email, col(LoginThrottle.address) == address)
        .values(failures=failures, last_attempt_at=text("clock_timestamp()"))
    )


async def uncount_pair_attempt(s: AsyncSession, *, email: str, address: str) -> None:
    """Takes back an attempt that never tested the password (the hash queue was full)."""
    await s.execute(
        update(LoginThrottle)
        .where(col(LoginThrottle.email) == email, col(LoginThrottle.address) == address)
        .values(failures=func.greatest(col(LoginThrottle.failures) - 1, 0))
    )


async def clear_pair(s: AsyncSession, *, email: str, address: str) -> None:
    await s.execute(
        delete(LoginThrottle).where(
            col(LoginThrottle.email) == email, col(LoginThrottle.address) == address
        )
    )


_COUNT_ADDRESS = text(
    """
    INSERT INTO auth_login_address_failures AS f (address, failures, window_started_at)
    VALUES (:address, 1, now())
    ON CONFLICT (address) DO UPDATE SET
        failures = CASE WHEN f.window_started_at <= now() - :window * interval '1 second'
                        THEN 1 ELSE LEAST(f.failures + 1, :cap) END,
        window_started_at = CASE WHEN f.window_started_at <= now() - :window * interval '1 second'
                                 THEN now() ELSE f.window_started_at END
    RETURNING failures,
              EXTRACT(EPOCH FROM f.window_started_at + :window * interval '1 second' - now())
    """
)


@dataclass(frozen=True, slots=True)
class AddressCount:
    failures: int  # in the current window, counting this attempt
    seconds_left: float  # until the window ends


async def count_address_attempt(
    s: AsyncSession, *, address: str, window_seconds: int, max_failures: int
) -> AddressCount:
    """Counts an attempt from `address` up front (one atomic upsert); a success or an
    attempt that never ran takes it back with `uncount_address_attempt`."""
    row = (
        await s.execute(
            _COUNT_ADDRESS, {"address": address, "window": window_seconds, "cap": max_failures + 1}
        )
    ).one()
    return AddressCount(failures=int(row[0]), seconds_left=float(row[1]))


async def uncount_address_attempt(s: AsyncSession, *, address: str) -> None:
    await s.execute(
        update(AddressFailures)
        .where(col(AddressFailures.address) == address)
        .values(failures=func.greatest(col(AddressFailures.failures) - 1, 0))
    )


# --- refresh tokens ---------------------------------------------------------------


async def create_family(s: AsyncSession, *, user_id: uuid.UUID) -> uuid.UUID:
    family = RefreshFamily(user_id=user_id)
    s.add(family)
    await s.flush()
    return family.id


async def add_refresh_token(
    s: AsyncSession, *, family_id: uuid.UUID, token_hash: bytes, ttl_days: int
) -> None:
    await s.execute(
        insert(RefreshToken).values(
            id=uuid.uuid4(),
            family_id=family_id,
            token_hash=token_hash,
            expires_at=text("now() + :ttl * interval '1 day'").bindparams(ttl=ttl_days),
        )
    )


@dataclass(frozen=True, slots=True)
class Consumed:
    family_id: uuid.UUID
    user_id: uuid.UUID


_CONSUME = text(
    """
    UPDATE auth_refresh_tokens AS t SET used_at = now()
    FROM auth_refresh_families AS f
    WHERE t.token_hash = :hash AND t.used_at IS NULL AND t.expires_at > now()
      AND f.id = t.family_id AND f.revoked_at IS NULL
    RETURNING t.family_id, f.user_id
    """
)


async def consume_refresh_token(s: AsyncSession, *, token_hash: bytes) -> Consumed | None:
    """Marks a live token used and returns its family, or None. A conditional UPDATE:
    of two concurrent calls the second waits on the row lock, then matches nothing."""
    row = (await s.execute(_CONSUME, {"hash": token_hash})).one_or_none()
    return None if row is None else Consumed(family_id=row[0], user_id=row[1])


@dataclass(frozen=True, slots=True)
class UsedToken:
    family_id: uuid.UUID
    used_at: datetime
    seconds_since_use: float
    successor_used: bool  # the token issued in its place has been refreshed too


# The successor was inserted in the transaction that used this token, so its created_at
# is this token's used_at (both are that transaction's now()).
_FIND_USED = text(
    """
    SELECT t.family_id, t.used_at, EXTRACT(EPOCH FROM now() - t.used_at),
           EXISTS (SELECT 1 FROM auth_refresh_tokens AS n
                   WHERE n.family_id = t.family_id AND n.id <> t.id
                     AND n.created_at >= t.used_at AND n.used_at IS NOT NULL)
    FROM auth_refresh_tokens AS t
    WHERE t.token_hash = :hash AND t.used_at IS NOT NULL
    """
)


async def find_used_token(s: AsyncSession, *, token_hash: bytes) -> UsedToken | None:
    row = (await s.execute(_FIND_USED, {"hash": token_hash})).one_or_none()
    if row is None:
        return None
    return UsedToken(
        family_id=row[0],
        used_at=row[1],
        seconds_since_use=float(row[2]),
        successor_used=bool(row[3]),
    )


async def revoke_family(s: AsyncSession, *, family_id: uuid.UUID) -> bool:
    result = await s.execute(
        update(RefreshFamily)
        .where(col(RefreshFamily.id) == family_id, col(RefreshFamily.revoked_at).is_(None))
        .values(revoked_at=text("now()"))
        .returning(col(RefreshFamily.id))
    )
    return result.scalar_one_or_none() is not None


async def revoke_all_families(s: AsyncSession, *, user_id: uuid.UUID) -> None:
    """Every session of the user ends ("log out everywhere")."""
    await s.execute(
        update(RefreshFamily)
        .where(col(RefreshFamily.user_id) == user_id, col(RefreshFamily.revoked_at).is_(None))
        .values(revoked_at=text("now()"))
    )


async def revoke_family_of(s: AsyncSession, *, token_hash: bytes) -> bool:
    """Revokes the family the token belongs to (used or not); False when unknown."""
    family_id = (
        await s.execute(
            select(col(RefreshToken.family_id)).where(col(RefreshToken.token_hash) == token_hash)
        )
    ).scalar_one_or_none()
    return family_id is not None and await revoke_family(s, family_id=family_id)


async def purge_expired(s: AsyncSession, *, failure_window_seconds: int) -> None:
    """Drops rows nothing can use any more (expired tokens, empty families, old windows)."""
    await s.execute(text("DELETE FROM auth_refresh_tokens WHERE expires_at < now()"))
    await s.execute(
        text(
            "DELETE FROM auth_refresh_families f WHERE NOT EXISTS "
            "(SELECT 1 FROM auth_refresh_tokens t WHERE t.family_id = f.id)"
        )
    )
    for statement in (
        "DELETE FROM auth_login_throttle "
        "WHERE last_attempt_at < now() - :window * interval '1 second'",
        "DELETE FROM auth_login_address_failures "
        "WHERE window_started_at < now() - :window * interval '1 second'",
    ):
        await s.execute(text(statement), {"window": failure_window_seconds})
