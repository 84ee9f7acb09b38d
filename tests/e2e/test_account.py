"""The account's lifecycle through the gateway: a new password and "log out everywhere"
end every session, and a deleted account's tokens stop at once while conversations
deletes its data, even when conversations was down at the time."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
from chat_testkit.polling import poll_until
from devstack import Stack

from tests.helpers.gateway import PASSWORD, GatewayClient, User

NEW_PASSWORD = "an entirely new passphrase"


async def login(gateway: GatewayClient, user: User, password: str = PASSWORD) -> httpx.Response:
    return await gateway.http.post(
        "/api/auth/login", json={"email": user.email, "password": password}
    )


async def refresh(gateway: GatewayClient, refresh_token: str) -> int:
    response = await gateway.http.post("/api/auth/refresh", json={"refresh_token": refresh_token})
    return response.status_code


async def delete_account(
    gateway: GatewayClient, user: User, password: str = PASSWORD
) -> httpx.Response:
    return await gateway.http.request(
        "DELETE", "/api/auth/me", json={"password": password}, headers=user.headers
    )


def stored_rows(stack: Stack, user: User) -> tuple[int, int]:
    """(conversations, messages) of the user, read from conversations' tables."""
    with psycopg.connect(stack.database_url) as db:
        row: Any = db.execute(
            "SELECT (SELECT count(*) FROM conversations WHERE user_id = %(u)s),"
            " (SELECT count(*) FROM messages WHERE user_id = %(u)s)",
            {"u": user.id},
        ).fetchone()
    return int(row[0]), int(row[1])


async def chatted(gateway: GatewayClient) -> User:
    """A user with one conversation holding one turn (two messages)."""
    user = await gateway.sign_up()
    conversation = await gateway.create_conversation(user)
    assert (await gateway.send(user, conversation["id"], "hello")).status_code == 201
    return user


async def test_a_new_password_logs_out_every_other_session(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    other_device = (await login(gateway, user)).json()["refresh_token"]

    changed = await gateway.http.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=user.headers,
    )

    assert changed.status_code == 204, changed.text
    assert await refresh(gateway, other_device) == 401
    assert await refresh(gateway, user.refresh_token) == 401
    assert (await login(gateway, user, NEW_PASSWORD)).status_code == 200


async def test_logout_all_ends_every_session(gateway: GatewayClient) -> None:
    user = await gateway.sign_up()
    other_device = (await login(gateway, user)).json()["refresh_token"]

    logged_out = await gateway.http.post("/api/auth/logout-all", headers=user.headers)

    assert logged_out.status_code == 204, logged_out.text
    assert await refresh(gateway, other_device) == 401
    assert await refresh(gateway, user.refresh_token) == 401


async def test_a_deleted_accounts_token_is_refused_at_once_and_its_data_goes(
    gateway: GatewayClient, stack: Stack
) -> None:
    alice, bob = await chatted(gateway), await chatted(gateway)

    deleted = await delete_account(gateway, alice)

    assert deleted.status_code == 204, deleted.text
    listed = await gateway.http.get("/api/chat/conversations", headers=alice.headers)
    assert listed.status_code == 401, listed.text
    assert (await gateway.http.get("/api/auth/me", headers=alice.headers)).status_code == 401
    await poll_until(
        lambda: _stored(stack, alice),
        lambda rows: rows == (0, 0),
        within=15.0,
        message="alice's conversations and messages were not deleted",
    )
    assert stored_rows(stack, bob) == (1, 2)
    mine = await gateway.http.get("/api/chat/conversations", headers=bob.headers)
    assert mine.status_code == 200 and len(mine.json()["items"]) == 1


async def test_a_deletion_completes_after_a_conversations_outage(
    gateway: GatewayClient, stack: Stack
) -> None:
    alice = await chatted(gateway)

    stack.kill("conversations")
    try:
        assert (await delete_account(gateway, alice)).status_code == 204
        listed = await gateway.http.get("/api/auth/me", headers=alice.headers)
        assert listed.status_code == 401
        assert stored_rows(stack, alice) == (1, 2), "deleted while conversations was down?"
    finally:
        stack.start_process("conversations")

    await poll_until(
        lambda: _stored(stack, alice),
        lambda rows: rows == (0, 0),
        within=30.0,
        interval=0.25,
        message="the deletion never completed after conversations came back",
    )


async def test_a_wrong_password_deletes_nothing(gateway: GatewayClient, stack: Stack) -> None:
    alice = await chatted(gateway)

    refused = await delete_account(gateway, alice, "not my password")

    assert refused.status_code == 401
    listed = await gateway.http.get("/api/chat/conversations", headers=alice.headers)
    assert listed.status_code == 200 and len(listed.json()["items"]) == 1
    assert stored_rows(stack, alice) == (1, 2)


async def _stored(stack: Stack, user: User) -> tuple[int, int]:
    return stored_rows(stack, user)


MANY_MESSAGES = 5_000  # five of DeleteAccountData's batches (accounts.BATCH_SIZE = 1000)


def seed_long_conversation(stack: Stack, user: User) -> str:
    """MANY_MESSAGES more messages in the user's conversation, in one statement; the id
    of the newest one (a seq-ordered deletion reaches it last)."""
    with psycopg.connect(stack.database_url, autocommit=True) as db:
        row: Any = db.execute(
            "INSERT INTO messages (id, conversation_id, user_id, role, content, status)"
            " SELECT gen_random_uuid(), c.id, c.user_id, 'user', 'm' || i, 'complete'"
            " FROM conversations c, generate_series(1, %(n)s) AS i WHERE c.user_id = %(u)s"
            " ORDER BY i RETURNING id",
            {"n": MANY_MESSAGES, "u": user.id},
        ).fetchall()[-1]
    return str(row[0])


async def test_conversations_killed_in_the_middle_of_a_deletion_finishes_it_after_restart(
    gateway: GatewayClient, stack: Stack
) -> None:
    alice, bob = await chatted(gateway), await chatted(gateway)
    newest = seed_long_conversation(stack, alice)
    total = MANY_MESSAGES + 2
    # A row lock on the newest message stops the deletion at the batch that reaches it,
    # after the earlier batches are committed: a deletion caught halfway, every time.
    with psycopg.connect(stack.database_url) as holder:
        holder.execute("SELECT 1 FROM messages WHERE id = %s FOR UPDATE", (newest,))
        assert (await delete_account(gateway, alice)).status_code == 204
        halfway = await poll_until(
            lambda: _stored(stack, alice),
            lambda rows: 0 < rows[1] < total,
            within=30.0,
            interval=0.05,
            message="the deletion never got partway",
        )
        stack.kill("conversations")
        holder.rollback()
    try:
        assert halfway[0] == 1, "the conversation went before its messages"
        assert (await gateway.http.get("/api/auth/me", headers=alice.headers)).status_code == 401
    finally:
        stack.start_process("conversations")

    await poll_until(
        lambda: _stored(stack, alice),
        lambda rows: rows == (0, 0),
        within=45.0,
        interval=0.25,
        message="the deletion cut short by the kill never completed after the restart",
    )
    assert stored_rows(stack, bob) == (1, 2), "another user's data was touched"
    mine = await gateway.http.get("/api/chat/conversations", headers=bob.headers)
    assert mine.status_code == 200 and len(mine.json()["items"]) == 1
