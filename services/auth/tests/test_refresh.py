"""Refresh-token rotation, reuse detection, concurrency and logout."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import psycopg
import pytest

if TYPE_CHECKING:
    from services.auth.tests.conftest import Account, AppFactory, AuthApi


@pytest.fixture(scope="module")
async def strict_api(app_factory: AppFactory) -> AsyncIterator[AuthApi]:
    """No grace at all: every replay of a used token counts as reuse."""
    async with app_factory(refresh_reuse_grace_seconds=0.0) as running:
        yield running


async def test_refresh_answers_a_new_pair(api: AuthApi, account: Account) -> None:
    response = await api.refresh(account.refresh_token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["refresh_token"] != account.refresh_token
    assert (await api.me(body["access_token"])).json()["id"] == str(account.id)


async def test_a_refreshed_token_stops_working(api: AuthApi, account: Account) -> None:
    assert (await api.refresh(account.refresh_token)).status_code == 200
    response = await api.refresh(account.refresh_token)
    assert response.status_code == 401
    assert "detail" in response.json()


async def test_the_rotated_token_keeps_rotating(api: AuthApi, account: Account) -> None:
    token = account.refresh_token
    for _ in range(3):
        response = await api.refresh(token)
        assert response.status_code == 200
        token = response.json()["refresh_token"]


async def test_replaying_a_used_token_revokes_its_whole_family(strict_api: AuthApi) -> None:
    account = await strict_api.account()
    second = (await strict_api.refresh(account.refresh_token)).json()["refresh_token"]
    assert (await strict_api.refresh(account.refresh_token)).status_code == 401  # the replay
    assert (await strict_api.refresh(second)).status_code == 401  # the family is dead


async def test_reuse_in_one_session_leaves_other_sessions_alone(strict_api: AuthApi) -> None:
    account = await strict_api.account()
    other = (await strict_api.login(account.email, account.password)).json()["refresh_token"]
    assert (await strict_api.refresh(account.refresh_token)).status_code == 200
    assert (await strict_api.refresh(account.refresh_token)).status_code == 401
    assert (await strict_api.refresh(other)).status_code == 200


async def test_concurrent_refreshes_of_one_token_have_exactly_one_winner(
    api: AuthApi, account: Account
) -> None:
    responses = await asyncio.gather(*(api.refresh(account.refresh_token) for _ in range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [401] * 5, statuses
    winner = next(r for r in responses if r.status_code == 200).json()
    # The losers raced (within the grace): they do not take the winner's session down.
    assert (await api.refresh(winner["refresh_token"])).status_code == 200


async def test_an_unknown_refresh_token_is_401(api: AuthApi) -> None:
    assert (await api.refresh("not-a-token-we-issued")).status_code == 401


async def test_an_access_token_is_not_a_refresh_token(api: AuthApi, account: Account) -> None:
    assert (await api.refresh(account.access_token)).status_code == 401


async def test_logout_answers_204_and_the_refresh_token_dies(
    api: AuthApi, account: Account
) -> None:
    response = await api.logout(account.refresh_token)
    assert response.status_code == 204
    assert response.content == b""
    assert (await api.refresh(account.refresh_token)).status_code == 401


async def test_logout_with_an_unknown_token_is_still_204(api: AuthApi) -> None:
    assert (await api.logout("never-issued")).status_code == 204


async def test_logout_refuses_unknown_fields(api: AuthApi, account: Account) -> None:
    response = await api.client.post(
        "/api/auth/logout", json={"refresh_token": account.refresh_token, "all": True}
    )
    assert response.status_code == 422


async def test_an_expired_refresh_token_is_401(
    api: AuthApi, account: Account, auth_database_url: str
) -> None:
    token_hash = hashlib.sha256(account.refresh_token.encode()).digest()
    async with await psycopg.AsyncConnection.connect(auth_database_url, autocommit=True) as db:
        await db.execute(  # time travel: 30 days on
            "UPDATE auth_refresh_tokens SET expires_at = now() - interval '1 second' "
            "WHERE token_hash = %s",
            (token_hash,),
        )
    assert (await api.refresh(account.refresh_token)).status_code == 401


async def test_refresh_tokens_are_stored_only_as_sha256(
    account: Account, auth_database_url: str
) -> None:
    async with await psycopg.AsyncConnection.connect(auth_database_url) as db:
        cursor = await db.execute("SELECT t::text FROM auth_refresh_tokens t")
        rows = "\n".join(r[0] for r in await cursor.fetchall())
    assert hashlib.sha256(account.refresh_token.encode()).hexdigest() in rows
    assert account.refresh_token not in rows


async def test_a_replay_within_the_grace_whose_successor_was_used_revokes_the_family(
    api: AuthApi, account: Account
) -> None:
    assert api.settings.refresh_reuse_grace_seconds >= 1  # all of this happens within it
    second = (await api.refresh(account.refresh_token)).json()["refresh_token"]
    third = (await api.refresh(second)).json()["refresh_token"]  # the successor is used
    assert (await api.refresh(account.refresh_token)).status_code == 401  # no race: theft
    assert (await api.refresh(third)).status_code == 401  # the family is revoked
