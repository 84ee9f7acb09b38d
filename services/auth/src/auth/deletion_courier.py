"""Delivers account deletions to conversations, which alone may delete their data.

A background task of every auth replica: it claims the outbox rows that are due
(auth.account_deletion.claim_due: a lease, so replicas never overlap), calls
conversations' `DeleteAccountData` under auth's own service identity (a token it
signs itself, scope `conversations:purge-accounts`), and marks each row delivered when
conversations confirms. A failed call (conversations down, a deadline) leaves the row
due again after an exponential backoff: the deletion completes once conversations is
back, even after auth restarts. `DeleteAccountData` is idempotent, so a repeat after a
lost answer does no harm.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Final

import grpc
from chat.conversations.v1 import conversations_pb2 as pb
from chat.conversations.v1 import conversations_pb2_grpc as pb_grpc
from chat_common.periodic import stop_if_cancelled

from auth import account_deletion
from auth.db import Sessions

log = logging.getLogger(__name__)

CLIENT_ID: Final = "auth"
PURGE_ACCOUNTS_SCOPE: Final = "conversations:purge-accounts"
CLAIM_BATCH: Final = 10
# Deleting a large account takes batches of statements; a call cut by its deadline has
# still deleted what it reached, and the retry goes on from there.
CALL_DEADLINE_SECONDS: Final = 30.0
IDLE_POLL_SECONDS: Final = 5.0  # new deletions of this replica wake the courier at once


class DeletionCourier:
    def __init__(
        self,
        db: Sessions,
        *,
        target: str,
        service_token: Callable[[], str],
        retry_seconds: float,
        retry_max_seconds: float,
    ) -> None:
        self._db = db
        self._target = target
        self._service_token = service_token
        self._retry_seconds = retry_seconds
        self._retry_max_seconds = retry_max_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        async with grpc.aio.insecure_channel(self._target) as channel:
            stub = pb_grpc.ConversationsServiceStub(channel)
            while True:
                self._wake.clear()  # before the round: a wake during it is kept
                try:
                    await self.deliver_due(stub)
                except Exception:
                    stop_if_cancelled()
                    log.exception("delivering account deletions failed; will retry")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_seconds())

    def _poll_seconds(self) -> float:
        # Often enough to meet the first retry of a failed delivery on time.
        return min(IDLE_POLL_SECONDS, self._retry_seconds)

    async def deliver_due(self, stub: pb_grpc.ConversationsServiceAsyncStub) -> int:
        """Delivers what is due now; how many conversations confirmed."""
        async with self._db.begin() as s:
            due = await account_deletion.claim_due(
                s,
                limit=CLAIM_BATCH,
                retry_seconds=self._retry_seconds,
                retry_max_seconds=self._retry_max_seconds,
            )
        delivered = 0
        for user_id in due:
            if await self._deliver(stub, user_id):
                delivered += 1
        return delivered

    async def _deliver(
        self, stub: pb_grpc.ConversationsServiceAsyncStub, user_id: uuid.UUID
    ) -> bool:
        metadata = (("authorization", f"Bearer {self._service_token()}"),)
        request = pb.DeleteAccountDataRequest(user_id=str(user_id))
        try:
            result = await stub.DeleteAccountData(
                request, metadata=metadata, timeout=CALL_DEADLINE_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            log.warning(
                "deleting the data of account %s failed (%s: %s); will retry",
                user_id,
                exc.code().name,
                exc.details(),
            )
            return False
        async with self._db.begin() as s:
            await account_deletion.mark_delivered(s, user_id=user_id)
        log.info(
            "deleted the data of account %s: %d conversations, %d messages",
            user_id,
            result.conversations_deleted,
            result.messages_deleted,
        )
        return True
