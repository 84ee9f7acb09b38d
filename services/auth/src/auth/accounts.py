"""Sign-up and login. No database connection is held while a password is hashed:
each step is its own short transaction, so a queue of hashes never drains the pool."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

from chat_common.errors import Conflict, RateLimited, Unauthenticated

from auth import store
from auth.db import Sessions
from auth.models import UserPublic
from auth.passwords import Passwords

BAD_CREDENTIALS = "invalid email or password"


@dataclass(frozen=True)
class Accounts:
    db: Sessions
    passwords: Passwords
    max_failures: int
    failure_window_seconds: int

    async def register(self, *, email: str, password: str) -> UserPublic:
        password_hash = await self.passwords.hash(password)
        async with self.db.begin() as s:
            user = await store.create_user(s, email=email, password_hash=password_hash)
        if user is None:
            raise Conflict("this email is already registered")
        return UserPublic(id=user.id, email=user.email)

    async def authenticate(self, *, email: str, password: str) -> uuid.UUID:
        """The user id for these credentials. Unknown email and wrong password answer
        alike and cost alike; too many failures on one email answer 429 for a while."""
        async with self.db.begin() as s:
            attempt = await store.count_login_attempt(
                s,
                email=email,
                window_seconds=self.failure_window_seconds,
                max_failures=self.max_failures,
            )
            user = None
            if attempt.failures <= self.max_failures:
                user = await store.get_user_by_email(s, email=email)
        if attempt.failures > self.max_failures:
            raise RateLimited(
                "too many failed logins for this account; try again later",
                retry_after=math.ceil(attempt.seconds_left),
            )
        # Always verify (a dummy hash when the email is unknown): both paths cost the same.
        ok = await self.passwords.verify(user.password_hash if user else None, password)
        if user is None or not ok:
            raise Unauthenticated(BAD_CREDENTIALS)
        new_hash = None
        if self.passwords.needs_rehash(user.password_hash):  # parameters were raised since
            new_hash = await self.passwords.hash(password)
        async with self.db.begin() as s:
            await store.clear_login_failures(s, email=email)
            if new_hash is not None:
                await store.set_password_hash(s, user_id=user.id, password_hash=new_hash)
        return user.id
