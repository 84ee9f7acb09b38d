"""The courier delivers each account deletion to conversations until it confirms: while
conversations is down it backs off and retries, then delivers once, never twice.

On a database of its own: the session's apps run couriers of their own on theirs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
from auth import account_deletion
from auth.db import Sessions, make_engine, make_sessions
from auth.deletion_courier import DeletionCourier
from auth.migrate import upgrade
from auth.settings import Settings
from chat.conversations.v1 import conversations_pb2 as pb

RETRY_SECONDS = 0.2
SERVICE_TOKEN = "auth's own service token"


class FakeConversations:
    """conversations' DeleteAccountData as the courier sees it: down, or up and deleting."""

    def __init__(self) -> None:
        self.up = False
        self.calls: list[tuple[str, Any]] = []

    async def DeleteAccountData(
        self, request: pb.DeleteAccountDataRequest, **call: Any
    ) -> pb.DeleteAccountDataResponse:
        self.calls.append((request.user_id, call["metadata"]))
        if not self.up:
            empty = grpc.aio.Metadata()
            raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, empty, empty, "down", None)
        return pb.DeleteAccountDataResponse(conversations_deleted=1, messages_deleted=2)


@pytest.fixture(scope="module")
async def db(make_database: Callable[..., str], settings: Settings) -> AsyncIterator[Sessions]:
    url = make_database("auth_courier")
    upgrade(url)
    engine = make_engine(settings.model_copy(update={"database_url": url}))
    yield make_sessions(engine)
    await engine.dispose()


@pytest.fixture
def courier(db: Sessions) -> DeletionCourier:
    return DeletionCourier(
        db,
        target="unused:0",
        service_token=lambda: SERVICE_TOKEN,
        retry_seconds=RETRY_SECONDS,
        retry_max_seconds=RETRY_SECONDS * 4,
    )


async def deleted_account(db: Sessions) -> uuid.UUID:
    user_id = uuid.uuid4()
    async with db.begin() as s:
        await account_deletion.delete_user(s, user_id=user_id)
    return user_id


def delivered_ids(conversations: FakeConversations) -> list[str]:
    return [user_id for user_id, _ in conversations.calls]


async def test_delivers_a_deletion_as_auths_service_identity(
    db: Sessions, courier: DeletionCourier
) -> None:
    user_id = await deleted_account(db)
    conversations = FakeConversations()
    conversations.up = True

    await courier.deliver_due(conversations)  # type: ignore[arg-type]

    assert delivered_ids(conversations) == [str(user_id)]
    assert conversations.calls[0][1] == (("authorization", f"Bearer {SERVICE_TOKEN}"),)
    await courier.deliver_due(conversations)  # type: ignore[arg-type]
    assert delivered_ids(conversations) == [str(user_id)], "a delivered deletion went again"


async def test_retries_after_a_backoff_until_conversations_is_back(
    db: Sessions, courier: DeletionCourier
) -> None:
    user_id = await deleted_account(db)
    conversations = FakeConversations()

    assert await courier.deliver_due(conversations) == 0  # type: ignore[arg-type]
    assert await courier.deliver_due(conversations) == 0  # type: ignore[arg-type]
    assert delivered_ids(conversations) == [str(user_id)], "retried without backing off"

    conversations.up = True
    await asyncio.sleep(RETRY_SECONDS * 1.5)
    assert await courier.deliver_due(conversations) == 1  # type: ignore[arg-type]
    assert delivered_ids(conversations) == [str(user_id)] * 2


async def test_the_marker_lists_recent_deletions_only(db: Sessions) -> None:
    user_id = await deleted_account(db)
    marker = account_deletion.DeletedUsers(horizon_seconds=60, refresh_seconds=0.5)

    await marker.refresh(db)

    assert user_id in marker
    assert uuid.uuid4() not in marker
    expired = account_deletion.DeletedUsers(horizon_seconds=0.001, refresh_seconds=0.5)
    await asyncio.sleep(0.01)
    await expired.refresh(db)
    assert user_id not in expired


async def test_a_second_deletion_of_one_account_is_harmless(db: Sessions) -> None:
    user_id = await deleted_account(db)

    async with db.begin() as s:
        await account_deletion.delete_user(s, user_id=user_id)

    async with db() as s:
        assert list(await account_deletion.deleted_within(s, seconds=60)).count(user_id) == 1
