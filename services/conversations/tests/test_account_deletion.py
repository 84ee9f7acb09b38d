"""DeleteAccountData: auth's service identity (scope conversations:purge-accounts, no
x-acting-user) deletes one account's conversations, messages, send budget and usage
ledger, in
batches, idempotently; nobody else may call it and no other account is touched."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest
from chat.conversations.v1 import conversations_pb2 as pb
from chat_testkit.tokens import TestKeys as SigningKeys
from conversations import accounts
from conversations.deps import STATE
from conversations.grpc.interceptors import PURGE_ACCOUNTS_SCOPE
from fastapi import FastAPI

if TYPE_CHECKING:
    from services.conversations.tests.conftest import Api, Rpc, User


def auth_metadata(keys: SigningKeys, scope: str = PURGE_ACCOUNTS_SCOPE) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {keys.service_token('auth', scope=scope)}"),)


async def delete_data(rpc: Rpc, keys: SigningKeys, user: User) -> pb.DeleteAccountDataResponse:
    request = pb.DeleteAccountDataRequest(user_id=str(user.id))
    response: pb.DeleteAccountDataResponse = await rpc.stub.DeleteAccountData(
        request, metadata=auth_metadata(keys), timeout=10
    )
    return response


async def chat(rpc: Rpc, user: User, *, conversations: int, messages_each: int) -> list[str]:
    ids = []
    for _ in range(conversations):
        conversation = await rpc.conversation(user)
        for n in range(messages_each):
            await rpc.append(user, conversation.id, f"message {n}")
        ids.append(conversation.id)
    return ids


async def test_deletes_every_conversation_and_message_of_the_account(
    rpc: Rpc, api: Api, test_keys: SigningKeys, alice: User
) -> None:
    await chat(rpc, alice, conversations=2, messages_each=3)
    soft_deleted = (await rpc.conversation(alice)).id
    path = f"/api/chat/conversations/{soft_deleted}"
    assert (await api.request(alice, "DELETE", path)).status_code == 204

    response = await delete_data(rpc, test_keys, alice)

    assert (response.conversations_deleted, response.messages_deleted) == (3, 6)
    assert await api.all_conversation_ids(alice) == []


async def test_a_repeat_deletes_nothing_more_and_succeeds(
    rpc: Rpc, test_keys: SigningKeys, alice: User
) -> None:
    await chat(rpc, alice, conversations=1, messages_each=2)
    await delete_data(rpc, test_keys, alice)

    again = await delete_data(rpc, test_keys, alice)

    assert (again.conversations_deleted, again.messages_deleted) == (0, 0)


async def test_another_accounts_data_is_left_alone(
    rpc: Rpc, api: Api, test_keys: SigningKeys, alice: User, bob: User
) -> None:
    await chat(rpc, alice, conversations=1, messages_each=1)
    [bobs] = await chat(rpc, bob, conversations=1, messages_each=2)

    await delete_data(rpc, test_keys, alice)

    assert await api.all_conversation_ids(bob) == [bobs]
    assert len(await rpc.history(bob, bobs)) == 2


async def test_small_batches_delete_everything(app: FastAPI, rpc: Rpc, alice: User) -> None:
    await chat(rpc, alice, conversations=3, messages_each=3)

    deleted = await accounts.delete_account_data(STATE.of(app).pool, user_id=alice.id, batch_size=2)

    assert deleted == accounts.DeletedData(conversations=3, messages=9)


async def test_the_send_budget_and_the_usage_ledger_go_too(
    app: FastAPI, test_keys: SigningKeys, rpc: Rpc, alice: User, bob: User
) -> None:
    pool = STATE.of(app).pool
    async with pool.connection() as db:
        await db.execute(
            "INSERT INTO send_budgets (user_id, tokens, updated_at) VALUES (%s, 1, now())",
            (alice.id,),
        )
        for user in (alice, bob):
            await db.execute(
                "INSERT INTO usage_days (user_id, day, model, turns, input_tokens, output_tokens)"
                " VALUES (%s, current_date, 'm', 1, 2, 3)",
                (user.id,),
            )

    await delete_data(rpc, test_keys, alice)

    assert await _count(app, "send_budgets", alice) == 0
    assert await _count(app, "usage_days", alice) == 0
    assert await _count(app, "usage_days", bob) == 1


async def _count(app: FastAPI, table: str, user: User) -> int:
    async with STATE.of(app).pool.connection() as db:
        query = f"SELECT count(*) FROM {table} WHERE user_id = %s"
        row = await (await db.execute(query, (user.id,))).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("who", ["user", "agent acting for the user", "agent for itself"])
async def test_nobody_else_may_delete_an_account(
    rpc: Rpc, test_keys: SigningKeys, alice: User, who: str
) -> None:
    [conversation] = await chat(rpc, alice, conversations=1, messages_each=1)
    metadata = {
        "user": alice.metadata,
        "agent acting for the user": alice.agent_metadata,
        "agent for itself": auth_metadata(test_keys, scope="conversations:agent"),
    }[who]
    request = pb.DeleteAccountDataRequest(user_id=str(alice.id))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await rpc.stub.DeleteAccountData(request, metadata=metadata, timeout=10)

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert len(await rpc.history(alice, conversation)) == 1


async def test_a_service_token_without_an_acting_user_reads_nothing(
    rpc: Rpc, test_keys: SigningKeys, alice: User
) -> None:
    request = pb.ListConversationsRequest()

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await rpc.stub.ListConversations(request, metadata=auth_metadata(test_keys), timeout=10)

    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_malformed_user_id_is_invalid(rpc: Rpc, test_keys: SigningKeys) -> None:
    request = pb.DeleteAccountDataRequest(user_id="not-a-uuid")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await rpc.stub.DeleteAccountData(request, metadata=auth_metadata(test_keys), timeout=10)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
