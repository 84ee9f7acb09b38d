"""Deleting everything one account owns, for auth's account deletion (gRPC
`DeleteAccountData`, auth's service identity only).

In batches, each its own short statement on its own pooled connection: a user with
100,000 messages never holds row locks or a connection for long, so turns of other
users go on between batches. Messages go first (found through the conversations'
user index, as `messages.user_id` has no index of its own), then the now empty
conversations (a message written meanwhile goes with its conversation, by the foreign
key's cascade), then the send budget and the usage ledger (last: a reply that ends while
its messages go is charged before it). Idempotent: a repeat finds nothing and succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from uuid import UUID

from conversations.db import Pool, connection
from conversations.rows import execute

BATCH_SIZE: Final = 1000

_DELETE_MESSAGES = """
DELETE FROM messages WHERE id IN (
    SELECT m.id FROM conversations c JOIN messages m ON m.conversation_id = c.id
    WHERE c.user_id = %(user_id)s LIMIT %(limit)s)
"""
_DELETE_CONVERSATIONS = """
DELETE FROM conversations WHERE id IN (
    SELECT id FROM conversations WHERE user_id = %(user_id)s LIMIT %(limit)s)
"""
_DELETE_BUDGET = "DELETE FROM send_budgets WHERE user_id = %(user_id)s"
# A few rows a day at most (one per model): one statement.
_DELETE_USAGE = "DELETE FROM usage_days WHERE user_id = %(user_id)s"
# Files not sent yet (sent ones go with their conversations); a few MiB each: small batches.
_DELETE_ATTACHMENTS = """
DELETE FROM attachments WHERE id IN (
    SELECT id FROM attachments WHERE user_id = %(user_id)s LIMIT %(limit)s)
"""


@dataclass(frozen=True, slots=True)
class DeletedData:
    conversations: int
    messages: int


async def delete_account_data(
    pool: Pool, *, user_id: UUID, batch_size: int = BATCH_SIZE
) -> DeletedData:
    """Deletes the user's files, messages, conversations (live or soft-deleted), budget
    and usage ledger."""
    await _delete_in_batches(pool, _DELETE_ATTACHMENTS, user_id, max(1, batch_size // 100))
    messages = await _delete_in_batches(pool, _DELETE_MESSAGES, user_id, batch_size)
    conversations = await _delete_in_batches(pool, _DELETE_CONVERSATIONS, user_id, batch_size)
    async with connection(pool) as db:
        await execute(db, _DELETE_BUDGET, {"user_id": user_id})
        await execute(db, _DELETE_USAGE, {"user_id": user_id})
    return DeletedData(conversations=conversations, messages=messages)


async def _delete_in_batches(pool: Pool, query: str, user_id: UUID, batch_size: int) -> int:
    total = 0
    while True:
        async with connection(pool) as db:
            deleted = (await execute(db, query, {"user_id": user_id, "limit": batch_size})).rowcount
        total += deleted
        if deleted < batch_size:
            return total
