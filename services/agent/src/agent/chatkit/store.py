"""The ChatKit `Store` over the conversations service (gRPC): threads ARE conversations,
thread items ARE messages, with the same ids, so REST and ChatKit share one history.

Every call carries the caller's token, so the conversations service scopes it; a missing or
foreign thread or item comes back as NotFound and is raised as the SDK's NotFoundError.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import InvalidInput, NotFound
from chatkit.store import NotFoundError, Store, StoreItemType
from chatkit.types import (
    AssistantMessageItem,
    Attachment,
    Page,
    ThreadItem,
    ThreadMetadata,
    UserMessageItem,
)

from agent.chatkit import items
from agent.chatkit.context import ChatContext
from agent.conversations_client import ConversationsClient
from agent.turns import TurnPipeline

MAX_PAGE = 100


@asynccontextmanager
async def _not_found_as_sdk_error(what: str, *ids: str) -> AsyncIterator[None]:
    # An id that is not a UUID names nothing of ours: not found, without asking.
    for value in ids:
        try:
            uuid.UUID(value)
        except ValueError:
            raise NotFoundError(f"{what} not found") from None
    try:
        yield
    except NotFound:
        raise NotFoundError(f"{what} not found") from None


def _page_size(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))


class ConversationsStore(Store[ChatContext]):
    def __init__(self, client: ConversationsClient, pipeline: TurnPipeline) -> None:
        self.client = client
        self.pipeline = pipeline

    # Ids are UUIDs: the conversations service keys rows by them.
    def generate_thread_id(self, context: ChatContext) -> str:
        thread_id = str(uuid.uuid4())
        context.new_threads.add(thread_id)
        return thread_id

    def generate_item_id(
        self, item_type: StoreItemType, thread: ThreadMetadata, context: ChatContext
    ) -> str:
        return str(uuid.uuid4())

    # -- threads ------------------------------------------------------------------------------

    async def load_thread(self, thread_id: str, context: ChatContext) -> ThreadMetadata:
        cached = context.threads.get(thread_id)
        if cached is not None:
            return cached.model_copy(deep=True)
        async with _not_found_as_sdk_error("thread", thread_id):
            conversation = await self.client.get_conversation(context.user_id, thread_id)
        thread = items.conversation_to_thread(conversation)
        context.threads[thread_id] = thread.model_copy(deep=True)
        return thread

    async def save_thread(self, thread: ThreadMetadata, context: ChatContext) -> None:
        if context.threads.get(thread.id) == thread:
            return  # nothing changed since it was loaded or saved in this request
        metadata_json = items.thread_metadata_json(thread)
        async with _not_found_as_sdk_error("thread", thread.id):
            if thread.id in context.new_threads:
                await self.client.create_conversation(
                    context.user_id, id=thread.id, title=thread.title, metadata_json=metadata_json
                )
                context.new_threads.discard(thread.id)
            else:
                await self.client.update_conversation(
                    context.user_id, thread.id, title=thread.title, metadata_json=metadata_json
                )
        context.threads[thread.id] = thread.model_copy(deep=True)

    async def load_threads(
        self, limit: int, after: str | None, order: str, context: ChatContext
    ) -> Page[ThreadMetadata]:
        # Conversations list newest activity first with an opaque keyset cursor, which we
        # hand out unchanged as `after`; `order` cannot be honoured beyond that order.
        page = await self.client.list_conversations(
            context.user_id, limit=_page_size(limit), cursor=after or ""
        )
        return Page(
            data=[items.conversation_to_thread(c) for c in page.items],
            has_more=bool(page.next_cursor),
            after=page.next_cursor or None,
        )

    async def delete_thread(self, thread_id: str, context: ChatContext) -> None:
        async with _not_found_as_sdk_error("thread", thread_id):
            await self.client.delete_conversation(context.user_id, thread_id)
        context.threads.pop(thread_id, None)

    # -- items --------------------------------------------------------------------------------

    async def load_thread_items(
        self,
        thread_id: str,
        after: str | None,
        limit: int,
        order: str,
        context: ChatContext,
    ) -> Page[ThreadItem]:
        size = _page_size(limit)
        async with _not_found_as_sdk_error("thread", thread_id, *([after] if after else [])):
            if order == "asc":
                page = await self.client.list_messages(
                    context.user_id, thread_id, limit=size, after=after or "", oldest_first=True
                )
            else:
                page = await self.client.list_messages(
                    context.user_id, thread_id, limit=size, before=after or ""
                )
        messages = list(page.items) if order == "asc" else list(reversed(page.items))
        data = [items.message_to_item(m) for m in messages]
        return Page(data=data, has_more=page.has_more, after=data[-1].id if data else None)

    async def load_item(self, thread_id: str, item_id: str, context: ChatContext) -> ThreadItem:
        return items.message_to_item(await self.get_message(thread_id, item_id, context))

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: ChatContext) -> None:
        if item.id in context.stored_items:
            return  # `respond` already stored it in its final state
        if isinstance(item, UserMessageItem):
            await self._start_turn(thread_id, item, context)
        elif isinstance(item, AssistantMessageItem):
            request = pb.AppendMessageRequest(
                conversation_id=thread_id,
                role="assistant",
                content=items.assistant_text(item),
                payload_json=items.item_payload(item),
                id=item.id,
            )
            async with _not_found_as_sdk_error("thread", thread_id):
                await self.client.append_message(context.user_id, request)
        # Other item kinds (widgets, workflows, SDK hidden context) are never produced here.

    async def save_item(self, thread_id: str, item: ThreadItem, context: ChatContext) -> None:
        try:
            message = await self.get_message(thread_id, item.id, context)
        except NotFoundError:
            await self.add_thread_item(thread_id, item, context)
            return
        fields: dict[str, Any] = {"payload_json": items.item_payload(item, message.payload_json)}
        if isinstance(item, UserMessageItem):
            fields["content"] = items.user_text(item)
        elif isinstance(item, AssistantMessageItem):
            fields["content"] = items.assistant_text(item)
        await self.update_message(thread_id, item.id, context, **fields)

    async def delete_thread_item(self, thread_id: str, item_id: str, context: ChatContext) -> None:
        async with _not_found_as_sdk_error("item", thread_id, item_id):
            await self.client.delete_message(context.user_id, thread_id, item_id)

    # -- helpers used by the server ------------------------------------------------------------

    async def _start_turn(
        self, thread_id: str, item: UserMessageItem, context: ChatContext
    ) -> None:
        """Store the user message and its `in_progress` reply in one step, as REST does."""
        async with _not_found_as_sdk_error("thread", thread_id):
            turn = await self.pipeline.start_turn(
                context.auth,
                thread_id,
                items.user_text(item),
                payload_json=items.item_payload(item),
            )
        # The stored message's id is the item's id from now on (the SDK sends this same object
        # to the client and to `respond` next).
        item.id = turn.user_message.id
        context.replies[item.id] = turn

    async def get_message(self, thread_id: str, item_id: str, context: ChatContext) -> pb.Message:
        async with _not_found_as_sdk_error("item", thread_id, item_id):
            return await self.client.get_message(context.user_id, thread_id, item_id)

    async def update_message(
        self, thread_id: str, item_id: str, context: ChatContext, **fields: Any
    ) -> pb.Message:
        request = pb.UpdateMessageRequest(conversation_id=thread_id, message_id=item_id, **fields)
        async with _not_found_as_sdk_error("item", thread_id, item_id):
            return await self.client.update_message(context.user_id, request)

    async def set_feedback(
        self, thread_id: str, item_ids: list[str], feedback: str, context: ChatContext
    ) -> None:
        async with _not_found_as_sdk_error("item", thread_id, ",".join(item_ids)):
            await self.client.set_feedback(context.user_id, thread_id, item_ids, feedback)

    # -- attachments (not supported: the product stores text conversations) ---------------------

    async def save_attachment(self, attachment: Attachment, context: ChatContext) -> None:
        raise InvalidInput("attachments are not supported")

    async def load_attachment(self, attachment_id: str, context: ChatContext) -> Attachment:
        raise InvalidInput("attachments are not supported")

    async def delete_attachment(self, attachment_id: str, context: ChatContext) -> None:
        raise InvalidInput("attachments are not supported")
