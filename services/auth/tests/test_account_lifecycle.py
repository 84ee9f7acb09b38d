"""Changing the password, logging out everywhere and deleting the account: what each
ends, what a wrong password costs, and that a deleted account's tokens stop at once
(on this replica and, within the refresh interval, on every other)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg
from chat_testkit.polling import poll_until

if TYPE_CHECKING:
    from auth.settings import Settings

    from services.auth.tests.conftest import Account, AppFactory, AuthApi

NEW_PASSWORD = "a brand new passphrase"
MAX_FAILURES = 5  # the default LOGIN_MAX_FAILURES


async def second_session(api: AuthApi, account: Account) -> str:
    """Another login of the account (another device): its refresh token."""
    logged_in = await api.login(account.email, account.password)
    assert logged_in.status_code == 200, logged_in.text
    token: str = logged_in.json()["refresh_token"]
    return token


def outbox_rows(settings: Settings, account: Account) -> int:
    with psycopg.connect(settings.database_url) as db:
        row = db.execute(
            "SELECT count(*) FROM auth_account_deletions WHERE user_id = %s", (account.id,)
        ).fetchone()
    assert row is not None
    return int(row[0])


# --- password -------------------------------------------------------------------------


async def test_a_new_password_logs_in_and_ends_every_session(
    api: AuthApi, account: Account
) -> None:
    other_device = await second_session(api, account)

    changed = await api.change_password(account.access_token, account.password, NEW_PASSWORD)

    assert changed.status_code == 204, changed.text
    for refresh_token in (account.refresh_token, other_device):
        assert (await api.refresh(refresh_token)).status_code == 401
    assert (await api.login(account.email, account.password)).status_code == 401
    assert (await api.login(account.email, NEW_PASSWORD)).status_code == 200


async def test_a_wrong_current_password_is_401_and_changes_nothing(
    api: AuthApi, account: Account
) -> None:
    refused = await api.change_password(account.access_token, "not my password", NEW_PASSWORD)

    assert refused.status_code == 401
    assert (await api.refresh(account.refresh_token)).status_code == 200
    assert (await api.login(account.email, account.password)).status_code == 200


async def test_wrong_current_passwords_count_as_failed_logins(
    api: AuthApi, account: Account
) -> None:
    for _ in range(MAX_FAILURES):
        wrong = await api.change_password(account.access_token, "guess", NEW_PASSWORD)
        assert wrong.status_code == 401

    throttled = await api.change_password(account.access_token, account.password, NEW_PASSWORD)

    assert throttled.status_code == 429
    assert (await api.login(account.email, account.password)).status_code == 429


async def test_a_new_password_follows_the_rules_of_registration(
    api: AuthApi, account: Account
) -> None:
    refused = await api.change_password(account.access_token, account.password, "short")

    assert refused.status_code == 422
    assert (await api.login(account.email, account.password)).status_code == 200


async def test_changing_the_password_needs_a_token(api: AuthApi, account: Account) -> None:
    body = {"current_password": account.password, "new_password": NEW_PASSWORD}
    assert (await api.client.post("/api/auth/password", json=body)).status_code == 401


# --- log out everywhere ---------------------------------------------------------------


async def test_logout_all_ends_every_session_of_the_account_only(
    api: AuthApi, account: Account
) -> None:
    other_device = await second_session(api, account)
    someone_else = await api.account()

    assert (await api.logout_all(account.access_token)).status_code == 204

    for refresh_token in (account.refresh_token, other_device):
        assert (await api.refresh(refresh_token)).status_code == 401
    assert (await api.refresh(someone_else.refresh_token)).status_code == 200
    assert (await api.login(account.email, account.password)).status_code == 200


# --- delete ---------------------------------------------------------------------------


async def test_a_deleted_accounts_tokens_stop_at_once(api: AuthApi, account: Account) -> None:
    assert (await api.verify(account.access_token)).status_code == 200

    deleted = await api.delete_account(account.access_token, account.password)

    assert deleted.status_code == 204, deleted.text
    assert (await api.verify(account.access_token)).status_code == 401
    assert (await api.me(account.access_token)).status_code == 401
    assert (await api.refresh(account.refresh_token)).status_code == 401
    assert (await api.login(account.email, account.password)).status_code == 401


async def test_deletion_writes_the_outbox_row_for_conversations(
    api: AuthApi, account: Account
) -> None:
    await api.delete_account(account.access_token, account.password)

    assert outbox_rows(api.settings, account) == 1


async def test_a_wrong_password_deletes_nothing(api: AuthApi, account: Account) -> None:
    refused = await api.delete_account(account.access_token, "not my password")

    assert refused.status_code == 401
    assert (await api.me(account.access_token)).status_code == 200
    assert (await api.verify(account.access_token)).status_code == 200
    assert outbox_rows(api.settings, account) == 0


async def test_deleting_one_account_leaves_another(api: AuthApi, account: Account) -> None:
    bob = await api.account()

    await api.delete_account(account.access_token, account.password)

    assert (await api.verify(bob.access_token)).status_code == 200
    assert (await api.me(bob.access_token)).status_code == 200


async def test_the_email_of_a_deleted_account_can_register_again(
    api: AuthApi, account: Account
) -> None:
    await api.delete_account(account.access_token, account.password)

    again = await api.register(account.email)

    assert again.status_code == 201
    assert again.json()["id"] != str(account.id)
    assert (await api.verify(account.access_token)).status_code == 401


async def test_another_replica_refuses_a_deleted_account_within_a_second(
    api: AuthApi, app_factory: AppFactory, account: Account
) -> None:
    async with app_factory() as other_replica:
        assert (await other_replica.verify(account.access_token)).status_code == 200

        await api.delete_account(account.access_token, account.password)

        await poll_until(
            lambda: other_replica.verify(account.access_token),
            lambda response: response.status_code == 401,
            within=other_replica.settings.deleted_users_refresh_seconds + 1.0,
            message="the other replica still lets a deleted account's token through",
        )
