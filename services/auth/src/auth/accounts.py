"""Sign-up and login. No database connection is held while a password is hashed:
each step is its own short transaction, so a queue of hashes never drains the pool.

Login throttle: failures are counted per (account, client address). After
`max_failures` of them, each further attempt from that pair waits `delay_seconds`,
doubling per failure up to the window, so a guesser slows down while the owner,
from an address that has not been failing, is never refused. Across accounts,
one address may fail `address_max_failures` times per window.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

from chat_common.errors import Conflict, RateLimited, Unauthenticated

from auth import account_deletion, store
from auth.db import Sessions
from auth.models import User, UserPublic
from auth.passwords import HashQueueFull, Passwords

BAD_CREDENTIALS = "invalid email or password"


@dataclass(frozen=True)
class LoginThrottle:
    max_failures: int
    window_seconds: int
    delay_seconds: float
    address_max_failures: int

    def delay(self, failures: int) -> float:
        """Seconds a pair with `failures` must wait since its last attempt."""
        if failures < self.max_failures:
            return 0.0
        doublings = min(failures - self.max_failures, 32)  # 2**32 outgrows any window
        return min(self.delay_seconds * float(2**doublings), float(self.window_seconds))


@dataclass(frozen=True)
class Accounts:
    db: Sessions
    passwords: Passwords
    throttle: LoginThrottle

    async def register(self, *, email: str, password: str) -> UserPublic:
        password_hash = await self.passwords.hash(password)
        async with self.db.begin() as s:
            user = await store.create_user(s, email=email, password_hash=password_hash)
        if user is None:
            raise Conflict("this email is already registered")
        return UserPublic(id=user.id, email=user.email)

    async def authenticate(self, *, email: str, password: str, address: str) -> uuid.UUID:
        """The user id for these credentials. Unknown email and wrong password answer
        alike and cost alike; a throttled (email, address) pair answers 429."""
        self.passwords.ensure_capacity()  # a flood is refused before it costs a query
        user = await self._count_attempt(email=email, address=address)
        try:
            # Always verify (a dummy hash when the email is unknown): both paths cost the same.
            ok = await self.passwords.verify(user.password_hash if user else None, password)
        except HashQueueFull:
            await self._uncount(email=email, address=address)
            raise
        if user is None or not ok:
            raise Unauthenticated(BAD_CREDENTIALS)
        new_hash = None
        if self.passwords.needs_rehash(user.password_hash):  # parameters were raised since
            new_hash = await self.passwords.hash(password)
        async with self.db.begin() as s:
            await store.clear_pair(s, email=email, address=address)
            await store.uncount_address_attempt(s, address=address)
            if new_hash is not None:
                await store.set_password_hash(s, user_id=user.id, password_hash=new_hash)
        return user.id

    async def _count_attempt(self, *, email: str, address: str) -> User | None:
        """Counts the attempt as a failure up front (so parallel guesses cannot slip past
        the limit; a success takes it back) and returns the account, or raises 429."""
        throttle = self.throttle
        async with self.db.begin() as s:
            pair = await store.lock_pair(s, email=email, address=address)
            failures = pair.failures
            if pair.seconds_since_last >= throttle.window_seconds:
                failures = 0  # quiet for a whole window: forgotten
            wait = throttle.delay(failures) - pair.seconds_since_last
            if wait > 0:
                raise RateLimited(
                    "too many failed logins; try again later", retry_after=math.ceil(wait)
                )
            by_address = await store.count_address_attempt(
                s,
                address=address,
                window_seconds=throttle.window_seconds,
                max_failures=throttle.address_max_failures,
            )
            if by_address.failures > throttle.address_max_failures:
                raise RateLimited(
                    "too many failed logins from this address; try again later",
                    retry_after=math.ceil(by_address.seconds_left),
                )
            await store.count_pair_attempt(s, email=email, address=address, failures=failures + 1)
            return await store.get_user_by_email(s, email=email)

    async def _uncount(self, *, email: str, address: str) -> None:
        async with self.db.begin() as s:
            await store.uncount_pair_attempt(s, email=email, address=address)
            await store.uncount_address_attempt(s, address=address)

    async def change_password(
        self, user: User, *, current_password: str, new_password: str, address: str
    ) -> None:
        """A new hash, and every session of the account ends (refresh families revoked)."""
        await self._check_password(user, password=current_password, address=address)
        new_hash = await self.passwords.hash(new_password)
        async with self.db.begin() as s:
            await store.set_password_hash(s, user_id=user.id, password_hash=new_hash)
            await store.revoke_all_families(s, user_id=user.id)

    async def logout_everywhere(self, user_id: uuid.UUID) -> None:
        """Every session (refresh family) ends; access tokens live out their exp."""
        async with self.db.begin() as s:
            await store.revoke_all_families(s, user_id=user_id)

    async def delete(self, user: User, *, password: str, address: str) -> None:
        """The user row goes and its outbox row comes, in one transaction
        (auth.account_deletion); conversations deletes the data when it is delivered."""
        await self._check_password(user, password=password, address=address)
        async with self.db.begin() as s:
            await account_deletion.delete_user(s, user_id=user.id)

    async def _check_password(self, user: User, *, password: str, address: str) -> None:
        """As a login of the account: throttled alike, and a wrong password is 401 and
        counts as a failed login (a stolen access token cannot guess it faster)."""
        await self.authenticate(email=user.email, password=password, address=address)
