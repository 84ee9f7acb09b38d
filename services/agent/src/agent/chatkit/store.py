"""The ChatKit `Store` over the conversations service (gRPC): threads ARE conversations,
thread items ARE messages, with the same ids, so REST and ChatKit share one history.

Every call carries the caller's token, so the conversations service scopes it; a missing or
foreign thread or item comes back as NotFound and is raised as the SDK's NotFoundError.

Ids: rows are keyed by UUIDs, while the SDK and integrators may choose any string (`thr_…`,
`msg_…`). A UUID id is the row id itself (so REST and ChatKit share ids); any other id names
the row `uuid5(user, [thread,] id)`, and the item or thread JSON stored with the row keeps the
id as chosen, so the SDK reads back exactly the ids it stored. The user is part of the name:
two users choosing the same id get two rows, and every statement is still scoped by user.
Storing items never starts a turn: the server starts the reply when it responds.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import Conflict, FailedPrecondition, NotFound
from chatkit.store import NotFoundError, Store, StoreItemType
from chatkit.types import (
    Attachment,
    Page,
    ThreadItem,
    ThreadMetadata,
)

from agent.chatkit import attachments, items
from agent.chatkit.context import ChatContext
from agent.conversations_client import ConversationsClient
from agent.turns import TurnPipeline

MAX_PAGE = 100
# Row pages read at most for one page of items (hidden rows do not count towards it).
MAX_FETCHES = 5


# The namespace of row ids derived from ids that are not UUIDs (never change it).
_ROW_IDS = uuid.UUID("5f0f8a53-6c7e-4d5b-9c1e-2b8f7f3e9a41")


def row_id(context: ChatContext, chosen: str, *scope: str) -> str:
    """The row id for an id the SDK or client chose (see the module docstring)."""
    try:
        return str(uuid.UUID(chosen))
    except ValueError:
        name = "/".join((str(context.user_id), *scope, chosen))
        return str(uuid.uuid5(_ROW_IDS, name))


@asynccontextmanager
async def _not_found_as_sdk_error(what: str, chosen_id: str) -> AsyncIterator[None]:
    """NotFound as the SDK's error, worded as the SDK's own stores word it."""
    try:
        yield
    except NotFound:
        raise NotFoundError(f"{what} {chosen_id} not found") from None


def _page_size(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))


class ConversationsStore(Store[ChatContext]):
    def __init__(self, client: ConversationsClient, pipeline: TurnPipeline) -> None:
        self.client = client
        self.pipeline = pipeline

    # Our own ids are UUIDs (the row ids as they are); integrators may override these.
    def generate_thread_id(self, context: ChatContext) -> str:
        thread_id = str(uuid.uuid4())
        context.new_threads.add(thread_id)
        return thread_id

    def generate_item_id(
        self, item_type: StoreItemType, thread: ThreadMetadata, context: ChatContext
    ) -> str:
        return str(uuid.uuid4())

    def _thread_row(self, thread_id: str, context: ChatContext) -> str:
        return row_id(context, thread_id)

    def _item_row(self, thread_id: str, item_id: str, context: ChatContext) -> str:
        return row_id(context, item_id, self._thread_row(thread_id, context))

    # -- threads ------------------------------------------------------------------------------

    async def load_thread(self, thread_id: str, context: ChatContext) -> ThreadMetadata:
        cached = context.threads.get(thread_id)
        if cached is not None:
            return cached.model_copy(deep=True)
        async with _not_found_as_sdk_error("Thread", thread_id):
            conversation = await self.client.get_conversation(
                context.user_id, self._thread_row(thread_id, context)
            )
        thread = items.conversation_to_thread(conversation)
        context.threads[thread_id] = thread.model_copy(deep=True)
        return thread

    async def save_thread(self, thread: ThreadMetadata, context: ChatContext) -> None:
        """Creates the thread, or updates it: any id the caller chose is its id. Its time is
        stored aware; a new thread's is made aware in place too, so it reads back equal (not
        on updates: the SDK compares the thread it streams with a copy to send updates)."""
        if context.threads.get(thread.id) == thread:
            return  # nothing changed since it was loaded or saved in this request
        fields: dict[str, Any] = {
            "title": thread.title,
            "metadata_json": items.thread_metadata_json(thread),
        }
        row = self._thread_row(thread.id, context)
        if thread.id in context.new_threads:
            items.make_aware(thread)
            await self.client.create_conversation(context.user_id, id=row, **fields)
            context.new_threads.discard(thread.id)
        else:
            try:
                await self.client.update_conversation(context.user_id, row, **fields)
            except NotFound:
                items.make_aware(thread)
                await self.client.create_conversation(context.user_id, id=row, **fields)
        context.threads[thread.id] = thread.model_copy(deep=True)

    async def load_threads(
        self, limit: int, after: str | None, order: str, context: ChatContext
    ) -> Page[ThreadMetadata]:
        """Threads by creation time (`order` asc or desc); `after` is a thread id."""
        size = _page_size(limit)
        after_row = self._thread_row(after, context) if after else ""
        async with _not_found_as_sdk_error("Thread", after or ""):
            page = await self.client.list_threads(
                context.user_id, limit=size, after_id=after_row, oldest_first=order == "asc"
            )
        data = [items.conversation_to_thread(c) for c in page.items]
        has_more = bool(page.next_cursor)
        return Page(data=data, has_more=has_more, after=data[-1].id if has_more else None)

    async def delete_thread(self, thread_id: str, context: ChatContext) -> None:
        async with _not_found_as_sdk_error("Thread", thread_id):
            await self.client.delete_conversation(
                context.user_id, self._thread_row(thread_id, context)
            )
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
        """A page of items; a thread that is not the caller's has none (the server checks
        the thread itself before any request that names it). `limit` rows, or on a page
        the client sees (ChatContext.client_page) `limit` shown items."""
        size = _page_size(limit)
        conversation_id = self._thread_row(thread_id, context)
        anchor = self._item_row(thread_id, after, context) if after else ""
        data: list[ThreadItem] = []
        counted, more, fetches = 0, True, 0
        # On a client's page hidden items (tool results, context for the model) do not count
        # towards `limit`: the SDK drops them from it, which would cut the page short.
        while counted < size and more and fetches < MAX_FETCHES:
            try:
                messages, more = await self._messages(context, conversation_id, anchor, size, order)
            except NotFound:
                return Page(data=[], has_more=False, after=None)
            fetches += 1
            for message in messages:
                if counted == size:
                    more = True  # the page is full: this message starts the next one
                    break
                item = items.message_to_item(message)
                data.append(item)
                counted += not (context.client_page and isinstance(item, items.HIDDEN))
                anchor = message.id
        last = data[-1].id if data and more else None
        return Page(data=data, has_more=more, after=last)

    async def _messages(
        self, context: ChatContext, conversation_id: str, anchor: str, size: int, order: str
    ) -> tuple[list[pb.Message], bool]:
        """A page of rows in `order` after the row `anchor`, and whether more follow."""
        if order == "asc":
            page = await self.client.list_messages(
                context.user_id, conversation_id, limit=size, after=anchor, oldest_first=True
            )
            return list(page.items), page.has_more
        page = await self.client.list_messages(
            context.user_id, conversation_id, limit=size, before=anchor
        )
        return list(reversed(page.items)), page.has_more

    async def load_item(self, thread_id: str, item_id: str, context: ChatContext) -> ThreadItem:
        checked = context.checked_items.pop((thread_id, item_id), None)
        if checked is not None:
            return checked
        return items.message_to_item(await self.get_message(thread_id, item_id, context))

    async def check_item(self, thread_id: str, item_id: str, context: ChatContext) -> ThreadItem:
        """`load_item` for the server's check before the SDK runs: the next load of the
        same item in this request (the SDK's own, right after) reuses it."""
        item = await self.load_item(thread_id, item_id, context)
        context.checked_items[(thread_id, item_id)] = item
        return item

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: ChatContext) -> None:
        """Stores `item` as given (a user message too: its reply starts when the server
        responds). An item that cannot be kept is an error, never dropped."""
        if item.id in context.stored_items:
            return  # `respond` already stored it in its final state
        items.make_aware(item)  # the SDK streams this object after storing it
        request = pb.AppendMessageRequest(
            conversation_id=self._thread_row(thread_id, context),
            role=items.item_role(item),
            content=items.item_text(item),
            payload_json=items.item_payload(item),
            id=self._item_row(thread_id, item.id, context),
        )
        async with _not_found_as_sdk_error("Thread", thread_id):
            await self.client.append_message(context.user_id, request)

    async def save_item(self, thread_id: str, item: ThreadItem, context: ChatContext) -> None:
        items.make_aware(item)
        try:
            message = await self.get_message(thread_id, item.id, context)
        except NotFoundError:
            await self.add_thread_item(thread_id, item, context)
            return
        payload_json = items.item_payload(item, message.payload_json)
        text = items.item_text(item)
        try:
            await self.update_message(
                thread_id, item.id, context, payload_json=payload_json, content=text
            )
        except FailedPrecondition:
            # A final reply keeps its text (REST's view); the item, ChatKit's view, changes.
            await self.update_message(thread_id, item.id, context, payload_json=payload_json)

    async def delete_thread_item(self, thread_id: str, item_id: str, context: ChatContext) -> None:
        async with _not_found_as_sdk_error("Item", item_id):
            await self.client.delete_message(
                context.user_id,
                self._thread_row(thread_id, context),
                self._item_row(thread_id, item_id, context),
            )

    # -- helpers used by the server ------------------------------------------------------------

    async def get_message(self, thread_id: str, item_id: str, context: ChatContext) -> pb.Message:
        async with _not_found_as_sdk_error("Item", item_id):
            return await self.client.get_message(
                context.user_id,
                self._thread_row(thread_id, context),
                self._item_row(thread_id, item_id, context),
            )

    async def start_reply(
        self,
        thread_id: str,
        user_item_id: str,
        context: ChatContext,
        *,
        continuation: bool = False,
        retry: bool = False,
    ) -> tuple[pb.Message, list[pb.Message] | None]:
        """The empty in-progress reply to the stored user item, and the history it answers;
        under the user's turn budget (RateLimited when refused: nothing is stored). With
        `continuation`, the item is the row the turn goes on from (a tool result, answered
        structured input): a repeated continuation is refused, not a free model call. With
        `retry`, the items after the user item are deleted with the new reply's start (in
        one transaction: refused, nothing is deleted)."""
        request = pb.StartReplyRequest(
            conversation_id=self._thread_row(thread_id, context),
            user_message_id=self._item_row(thread_id, user_item_id, context),
            history_limit=self.pipeline.history_limit,
            continuation=continuation,
            retry=retry,
        )
        response = await self.client.start_reply(context.user_id, request)
        if response.replayed:  # a repeated request: another one answers it
            raise Conflict(
                "this turn already goes on" if continuation else "this message already has a reply"
            )
        return response.assistant_message, list(response.history) or None

    async def update_message(
        self, thread_id: str, item_id: str, context: ChatContext, **fields: Any
    ) -> pb.Message:
        request = pb.UpdateMessageRequest(
            conversation_id=self._thread_row(thread_id, context),
            message_id=self._item_row(thread_id, item_id, context),
            **fields,
        )
        async with _not_found_as_sdk_error("Item", item_id):
            return await self.client.update_message(context.user_id, request)

    async def set_feedback(
        self, thread_id: str, item_ids: list[str], feedback: str, context: ChatContext
    ) -> None:
        rows = [self._item_row(thread_id, item_id, context) for item_id in item_ids]
        async with _not_found_as_sdk_error("Item", ", ".join(item_ids)):
            await self.client.set_feedback(
                context.user_id, self._thread_row(thread_id, context), rows, feedback
            )

    # -- attachments: the conversations service keeps them (chatkit/attachments.py) --------------

    async def save_attachment(self, attachment: Attachment, context: ChatContext) -> None:
        await attachments.save_attachment(self.client, attachment, context)

    async def load_attachment(self, attachment_id: str, context: ChatContext) -> Attachment:
        async with _not_found_as_sdk_error("Attachment", attachment_id):
            return await attachments.load_attachment(self.client, attachment_id, context)

    async def delete_attachment(self, attachment_id: str, context: ChatContext) -> None:
        pass  # ConversationsAttachments.delete_attachment removed it already
