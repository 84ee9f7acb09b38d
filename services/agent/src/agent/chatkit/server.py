"""The ChatKit server: the SDK's protocol over our conversations store and turn pipeline.

Every request naming a thread (or a message to retry) is checked against the store before
anything runs or streams, so a missing or foreign one is a 404 answer, never a broken
stream; the thread loaded by that check is reused by the SDK for the same request.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, Final

import orjson
from chat.conversations.v1 import conversations_pb2 as pb
from chat_common.errors import DomainError, InvalidInput, RateLimited
from chatkit.errors import CustomStreamError
from chatkit.server import ChatKitServer, NonStreamingResult, StreamingResult
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageContentPartTextDelta,
    AssistantMessageItem,
    AttachmentsCreateReq,
    AttachmentsDeleteReq,
    ChatKitReq,
    ErrorEvent,
    FeedbackKind,
    InputTranscribeReq,
    ThreadItem,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadMetadata,
    ThreadsAddClientToolOutputReq,
    ThreadsAddStructuredInputReq,
    ThreadsAddUserMessageReq,
    ThreadsCreateReq,
    ThreadsCustomActionReq,
    ThreadsRetryAfterItemReq,
    ThreadsSyncCustomActionReq,
    ThreadStreamEvent,
    UserMessageInput,
    UserMessageItem,
    UserMessageTagContent,
    UserMessageTextContent,
    is_streaming_req,
)
from pydantic import TypeAdapter

from agent.chatkit import items
from agent.chatkit.context import ChatContext
from agent.chatkit.store import ConversationsStore
from agent.turns import ReplyDelta, ReplyDone, ReplyStarted, ReplyToolCalls

_REQUEST = TypeAdapter[ChatKitReq](ChatKitReq)
# items.feedback: at most this many distinct items per request (conversations' limit too).
MAX_FEEDBACK_ITEMS: Final = 50

_UNSUPPORTED = (
    ThreadsAddClientToolOutputReq,
    ThreadsAddStructuredInputReq,
    ThreadsCustomActionReq,
    ThreadsSyncCustomActionReq,
    AttachmentsCreateReq,
    AttachmentsDeleteReq,
    InputTranscribeReq,
)


class NotSupported(DomainError):
    status, default_message = 400, "this ChatKit request type is not supported"


class ChatServer(ChatKitServer[ChatContext]):
    store: ConversationsStore

    def __init__(self, store: ConversationsStore, *, max_chars: int) -> None:
        super().__init__(store)
        self.max_chars = max_chars

    async def process(
        self, request: str | bytes | bytearray, context: ChatContext
    ) -> StreamingResult | NonStreamingResult:
        parsed = _REQUEST.validate_json(request)
        await self._check(parsed, context)
        if is_streaming_req(parsed):
            return StreamingResult(_readable_errors(self._process_streaming(parsed, context)))
        return NonStreamingResult(await self._process_non_streaming(parsed, context))

    async def _check(self, request: ChatKitReq, context: ChatContext) -> None:
        """Refuse, before anything runs: foreign threads/items, bad input, unsupported types."""
        thread_id = getattr(request.params, "thread_id", None)
        if isinstance(thread_id, str):
            await self.store.load_thread(thread_id, context)
        if isinstance(request, _UNSUPPORTED):
            raise NotSupported()
        if isinstance(request, ThreadsCreateReq | ThreadsAddUserMessageReq):
            self._check_input(request.params.input)
        if isinstance(request, ThreadsRetryAfterItemReq):
            item = await self.store.load_item(thread_id or "", request.params.item_id, context)
            if not isinstance(item, UserMessageItem):
                raise InvalidInput("only a user message can be retried")

    def _check_input(self, message: UserMessageInput) -> None:
        if message.attachments:
            raise InvalidInput("attachments are not supported")
        text = "".join(
            part.text
            for part in message.content
            if isinstance(part, UserMessageTextContent | UserMessageTagContent)
        )
        if not text.strip():
            raise InvalidInput("the message is empty")
        # Everything the user wrote counts, not only the text: tags, quotes and options
        # are stored with the message too.
        if user_chars(message) > self.max_chars:
            raise InvalidInput(f"the message is longer than {self.max_chars} characters")

    async def respond(
        self,
        thread: ThreadMetadata,
        input_user_message: UserMessageItem | None,
        context: ChatContext,
    ) -> AsyncIterator[ThreadStreamEvent]:
        if input_user_message is None:
            return
        turn = context.replies.pop(input_user_message.id, None)
        if turn is None:  # a retry: the user message is stored, its old reply was removed
            reply = await self.store.pipeline.start_reply(context.auth, thread.id)
            history = None  # the pipeline loads it
        else:
            reply, history = turn.assistant_message, turn.history
        # An item is shown from its first word: a step that only calls tools stays hidden.
        item: AssistantMessageItem | None = None
        # Entered first: whatever fails from here on, the stored reply gets a final state.
        async with self.store.pipeline.reply(
            context.auth, reply, history=history, protocol="chatkit"
        ) as events:
            if thread.title is None:
                await self._take_generated_title(thread, context)
            async for event in events:
                if isinstance(event, ReplyDelta):
                    if item is None:
                        item = _assistant_item(reply)
                        yield ThreadItemAddedEvent(item=item)
                    item.content[0].text += event.text
                    yield ThreadItemUpdatedEvent(
                        item_id=item.id,
                        update=AssistantMessageContentPartTextDelta(
                            content_index=0, delta=event.text
                        ),
                    )
                elif isinstance(event, ReplyStarted | ReplyToolCalls | ReplyDone):
                    if item is not None:
                        # The pipeline stored this message in its final state already.
                        context.stored_items.add(item.id)
                        yield ThreadItemDoneEvent(item=item)
                        item = None
                    if isinstance(event, ReplyStarted):
                        reply = event.message
                    if isinstance(event, ReplyDone) and event.error is not None:
                        raise CustomStreamError(event.error.detail, allow_retry=True)

    async def _take_generated_title(self, thread: ThreadMetadata, context: ChatContext) -> None:
        """The conversations service titles a thread from its first message; show that title."""
        conversation = await self.store.client.get_conversation(context.user_id, thread.id)
        if conversation.HasField("title"):
            thread.title = conversation.title
            # Known to be stored: the SDK's save_thread after this change writes nothing.
            context.threads[thread.id] = thread.model_copy(deep=True)

    async def handle_stream_cancelled(
        self, thread: ThreadMetadata, pending_items: list[ThreadItem], context: ChatContext
    ) -> None:
        # The turn pipeline already stored the partial reply as `interrupted`; unlike the SDK's
        # default we add no hidden note, so REST and ChatKit keep one identical history.
        return

    async def add_feedback(
        self, thread_id: str, item_ids: list[str], feedback: FeedbackKind, context: ChatContext
    ) -> None:
        item_ids = list(dict.fromkeys(item_ids))  # the same item twice is one vote
        if len(item_ids) > MAX_FEEDBACK_ITEMS:
            raise InvalidInput(f"feedback takes at most {MAX_FEEDBACK_ITEMS} items at once")
        # One statement for all of them; a foreign or missing item changes nothing.
        await self.store.set_feedback(thread_id, item_ids, feedback, context)


def user_chars(message: UserMessageInput) -> int:
    """How many characters the user supplied in `message`, in every field that is stored."""
    total = len(message.quoted_text or "") + sum(len(a) for a in message.attachments)
    for part in message.content:
        if isinstance(part, UserMessageTextContent):
            total += len(part.text)
        elif isinstance(part, UserMessageTagContent):
            total += len(part.id) + len(part.text) + len(part.group or "") + _chars(part.data)
    options = message.inference_options
    if options is not None:
        tool = options.tool_choice
        total += len(options.model or "") + len(tool.id if tool else "")
    return total


def _chars(value: Any) -> int:
    """Characters in the strings (keys included) of a JSON value; other scalars count as
    their JSON text."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(len(str(k)) + _chars(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return sum(_chars(v) for v in value)
    return len(orjson.dumps(value))


async def _readable_errors(stream: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    """A domain error the SDK lets escape its stream (a refused turn: over the send
    budget, a foreign thread) ends the stream with an `error` event a ChatKit UI shows,
    instead of a cut connection."""
    try:
        async for chunk in stream:
            yield chunk
    except DomainError as exc:
        message = exc.message
        if isinstance(exc, RateLimited):
            message = f"{message} (try again in {exc.retry_after} s)"
        event = ErrorEvent(code="custom", message=message, allow_retry=True)
        yield b"data: " + event.model_dump_json().encode() + b"\n\n"


def _assistant_item(message: pb.Message) -> AssistantMessageItem:
    return AssistantMessageItem(
        id=message.id,
        thread_id=message.conversation_id,
        created_at=items.to_datetime(message.created_at),
        content=[AssistantMessageContent(text="")],
    )
