"""The ChatKit server: the SDK's protocol over our conversations store and turn pipeline.

Every request naming a thread (or a message to retry) is checked against the store before
anything runs or streams, so a missing or foreign one is a 404 answer, never a broken
stream; the thread loaded by that check is reused by the SDK for the same request.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final

import orjson
from chat_common.errors import DomainError, InvalidInput
from chatkit.actions import Action
from chatkit.errors import CustomStreamError
from chatkit.server import ChatKitServer, NonStreamingResult, StreamingResult
from chatkit.store import AttachmentStore
from chatkit.types import (
    AudioInput,
    ChatKitReq,
    FeedbackKind,
    InferenceOptions,
    ItemsListReq,
    SDKHiddenContextItem,
    StreamingReq,
    SyncCustomActionResponse,
    Thread,
    ThreadItem,
    ThreadMetadata,
    ThreadsAddStructuredInputReq,
    ThreadsAddUserMessageReq,
    ThreadsCreateReq,
    ThreadsGetByIdReq,
    ThreadsRetryAfterItemReq,
    ThreadStreamEvent,
    TranscriptionResult,
    UserMessageInput,
    UserMessageItem,
    UserMessageTagContent,
    UserMessageTextContent,
    WidgetItem,
)
from pydantic import TypeAdapter

from agent.background import shielded
from agent.chatkit import actions as widget_actions
from agent.chatkit import client_tools, continuations, items, sdk_adapters, widgets
from agent.chatkit.actions import ActionCall, ActionRegistry
from agent.chatkit.context import ChatContext
from agent.chatkit.reply_view import ReplyView
from agent.chatkit.sdk_adapters import CachedTypeAdapter
from agent.chatkit.store import ConversationsStore, row_id
from agent.chatkit.stream_errors import (
    NotSupported,
    readable,
    readable_errors,
    retryable,
    single_error,
)
from agent.chatkit.titles import model_title
from agent.turn_events import ReplyDone, ReplyToolResult, TurnOptions

# The same adapter the SDK's process() validates with (sdk_adapters.install()).
_REQUEST: TypeAdapter[ChatKitReq] = CachedTypeAdapter.of(ChatKitReq)
# What the SDK's default handle_stream_cancelled stores, for the model's next turn.
CANCELLED_NOTE: Final = "The user cancelled the stream. Stop responding to the prior request."
# items.feedback: at most this many distinct items per request (conversations' limit too).
MAX_FEEDBACK_ITEMS: Final = 50

# The request types served here; any other is refused before anything runs.
SERVED: Final = frozenset(
    {
        "threads.create",
        "threads.add_user_message",
        "threads.retry_after_item",
        "threads.get_by_id",
        "threads.list",
        "threads.update",
        "threads.delete",
        "items.list",
        "items.feedback",
        "attachments.create",
        "attachments.delete",
        "threads.add_client_tool_output",
        "input.transcribe",  # answered "not available" (transcribe below)
        "threads.custom_action",
        "threads.sync_custom_action",
        "threads.add_structured_input",
    }
)


class ChatServer(ChatKitServer[ChatContext]):
    store: ConversationsStore

    def __init__(
        self,
        store: ConversationsStore,
        *,
        max_chars: int,
        models: frozenset[str] = frozenset(),
        title_from_model: bool = False,
        attachments: AttachmentStore[ChatContext] | None = None,
        attachments_per_message: int = 0,
        actions: ActionRegistry | None = None,
    ) -> None:
        super().__init__(store, attachments)
        sdk_adapters.install()
        self.actions = actions if actions is not None else ActionRegistry()
        # threads.add_structured_input: the answered item, the anchor of the reply after it.
        self._answering_input: str | None = None
        self.attachments_per_message = attachments_per_message
        self.max_chars = max_chars
        # The models a composer may pick: always the default one.
        self.models = models | {store.pipeline.model_name}
        self.title_from_model = title_from_model

    async def process(
        self, request: str | bytes | bytearray, context: ChatContext
    ) -> StreamingResult | NonStreamingResult:
        parsed = _REQUEST.validate_json(request)
        await self._check(parsed, context)  # first: a foreign thread is 404 whatever the type
        if parsed.type not in SERVED:
            raise NotSupported()
        context.client_page = isinstance(parsed, ItemsListReq | ThreadsGetByIdReq)
        if isinstance(parsed, ThreadsCreateReq | ThreadsAddUserMessageReq):
            refusal = self._refusal(parsed.params.input.inference_options)
            if refusal is not None:  # nothing was stored: the UI shows why
                return StreamingResult(single_error(refusal))
        result = await super().process(request, context)
        if isinstance(result, StreamingResult):
            return StreamingResult(readable_errors(result))
        return result

    async def _check(self, request: ChatKitReq, context: ChatContext) -> None:
        """Refuse, before anything runs: foreign threads/items, bad input."""
        thread_id = getattr(request.params, "thread_id", None)
        if isinstance(thread_id, str):
            await self.store.load_thread(thread_id, context)
        if isinstance(request, ThreadsCreateReq | ThreadsAddUserMessageReq):
            self._check_input(request.params.input)
        if thread_id is not None:
            answering = await widget_actions.check(request, self.actions, self.store, context)
            if answering and isinstance(request, ThreadsAddStructuredInputReq):
                self._answering_input = request.params.item_id
        if isinstance(request, ThreadsRetryAfterItemReq):
            item = await self.store.check_item(thread_id or "", request.params.item_id, context)
            if not isinstance(item, UserMessageItem):
                raise InvalidInput("only a user message can be retried")

    async def transcribe(
        self, audio_input: AudioInput, context: ChatContext
    ) -> TranscriptionResult:
        # The offline model (and the Chat Completions servers we target) have no
        # transcription endpoint: say so instead of the SDK's NotImplementedError.
        raise NotSupported("dictation is not available: the model provider has no transcription")

    def _check_input(self, message: UserMessageInput) -> None:
        if len(message.attachments) > self.attachments_per_message:
            raise InvalidInput(f"at most {self.attachments_per_message} files per message")
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

    def _refusal(self, options: InferenceOptions | None) -> str | None:
        """Why the composer's model or tool choice cannot be served (None: it can)."""
        if options is None:
            return None
        if options.model and options.model not in self.models:
            offered = ", ".join(sorted(self.models))
            return f"The model {options.model!r} is not available here (choose one of: {offered})."
        tools = self.store.pipeline.tools
        names = {spec["name"] for spec in tools.specs()} if tools else set()
        if options.tool_choice and options.tool_choice.id not in names:
            return f"The tool {options.tool_choice.id!r} is not available here."
        return None

    def _turn_options(self, item: UserMessageItem, context: ChatContext) -> TurnOptions:
        options = item.inference_options
        refusal = self._refusal(options)  # a retry: the allow-list may have changed
        if refusal is not None:
            raise CustomStreamError(refusal, allow_retry=False)
        hints = (locale_hint(context.locale),) if context.locale else ()
        return TurnOptions(
            model=options.model if options else None,
            tool_choice=options.tool_choice.id if options and options.tool_choice else None,
            hints=hints,
            reasoning=True,
        )

    async def _process_streaming_impl(
        self, request: StreamingReq, context: ChatContext
    ) -> AsyncGenerator[ThreadStreamEvent, None]:
        if not isinstance(request, ThreadsRetryAfterItemReq):
            async for event in super()._process_streaming_impl(request, context):
                yield event
            return
        # The SDK deletes the items after the user message before respond() starts the new
        # reply, so a budget refusal would lose the old one: StartReply(retry) deletes them
        # and starts the reply in one budgeted transaction instead. Like the SDK, no
        # removal events: the client drops the later items from its view itself.
        thread = await self.store.load_thread(request.params.thread_id, context)
        item = await self.store.load_item(thread.id, request.params.item_id, context)
        assert isinstance(item, UserMessageItem)  # _check refused any other item
        retried = partial(self._respond, thread, item, context, retry=True)
        async for event in self._process_events(thread, context, retried):
            yield event

    async def respond(
        self,
        thread: ThreadMetadata,
        input_user_message: UserMessageItem | None,
        context: ChatContext,
    ) -> AsyncIterator[ThreadStreamEvent]:
        async for event in self._respond(thread, input_user_message, context, retry=False):
            yield event

    async def _respond(
        self,
        thread: ThreadMetadata,
        input_user_message: UserMessageItem | None,
        context: ChatContext,
        *,
        retry: bool,
    ) -> AsyncIterator[ThreadStreamEvent]:
        try:
            if input_user_message is None:  # answers or a client tool's output: it goes on
                input_user_message = await self._going_on(thread, context)
                if input_user_message is None:
                    return
            async for event in self._reply(thread, input_user_message, context, retry=retry):
                yield event
        except DomainError as exc:  # the SDK would show a generic error: say what went wrong
            raise CustomStreamError(readable(exc), allow_retry=retryable(exc)) from exc

    async def _going_on(
        self, thread: ThreadMetadata, context: ChatContext
    ) -> UserMessageItem | None:
        """The user message a turn without a new one answers (its reply started, budgeted)."""
        if self._answering_input is not None:  # the answers are stored on their item
            item_id = self._answering_input
            return await continuations.answered_input(self.store, thread, item_id, context)
        return await client_tools.resume(self.store, thread, context)

    async def _reply(
        self,
        thread: ThreadMetadata,
        user_item: UserMessageItem,
        context: ChatContext,
        *,
        retry: bool,
    ) -> AsyncIterator[ThreadStreamEvent]:
        options = self._turn_options(user_item, context)
        first_turn = thread.title is None
        turn = context.replies.pop(user_item.id, None)
        if turn is None:  # the user message is stored without a reply: start one, budgeted
            start = self.store.start_reply(thread.id, user_item.id, context, retry=retry)
            reply, history = await start
        else:
            reply, history = turn.assistant_message, turn.history
        view = ReplyView(
            reply,
            lambda: self.store.generate_item_id("workflow", thread, context),
            context.stored_items,
        )
        # Entered first: whatever fails from here on, the stored reply gets a final state.
        tool_widgets = widgets.collect()  # what the tools show: items after their result
        async with self.store.pipeline.reply(
            context.auth, reply, history=history, protocol="chatkit", options=options
        ) as events:
            if first_turn:
                await self._take_generated_title(thread, context)
            async for event in events:
                for shown in view.events(event):
                    yield shown
                if isinstance(event, ReplyToolResult):
                    for shown in widgets.items(tool_widgets, thread, self.store, context):
                        yield shown
                client_round = client_tools.client_round(event, self.store.pipeline.tools)
                if client_round is not None:  # the turn waits for the client's output
                    handed = client_tools.hand_over(self.store, thread, view, client_round, context)
                    async for shown in handed:
                        yield shown
                    break
                if isinstance(event, ReplyDone) and event.error is not None:
                    raise CustomStreamError(event.error.detail, allow_retry=True)
        if first_turn and self.title_from_model:
            await self._write_model_title(thread, user_item)

    async def _write_model_title(self, thread: ThreadMetadata, user_item: UserMessageItem) -> None:
        """The model's title for a new thread; the SDK saves it and sends thread.updated."""
        text = "".join(p.text for p in user_item.content if isinstance(p, UserMessageTextContent))
        title = await model_title(self.store.pipeline.model, text)
        if title:
            thread.title = title

    async def _take_generated_title(self, thread: ThreadMetadata, context: ChatContext) -> None:
        """The conversations service titles a thread from its first message; show that title."""
        row = row_id(context, thread.id)  # the thread's id may be an integrator's, not a row id
        conversation = await self.store.client.get_conversation(context.user_id, row)
        if conversation.HasField("title"):
            thread.title = conversation.title
            # Known to be stored: the SDK's save_thread after this change writes nothing.
            context.threads[thread.id] = thread.model_copy(deep=True)

    async def action(
        self,
        thread: ThreadMetadata,
        action: Action[str, Any],
        sender: WidgetItem | None,
        context: ChatContext,
    ) -> AsyncIterator[ThreadStreamEvent]:
        call = ActionCall(action, thread, sender, context, self.store)
        try:
            async for event in widget_actions.run(self.actions, call):
                yield event
        except DomainError as exc:  # a handler's refusal, readable in the UI
            raise CustomStreamError(readable(exc), allow_retry=False) from exc

    async def sync_action(
        self,
        thread: ThreadMetadata,
        action: Action[str, Any],
        sender: WidgetItem | None,
        context: ChatContext,
    ) -> SyncCustomActionResponse:
        call = ActionCall(action, thread, sender, context, self.store)
        return await widget_actions.run_sync(self.actions, call)

    async def handle_stream_cancelled(
        self, thread: ThreadMetadata, pending_items: list[ThreadItem], context: ChatContext
    ) -> None:
        """The turn pipeline already stored the partial reply `interrupted` with its text (so
        the SDK's saving of pending items is not needed); as the SDK does, a hidden note tells
        the model next turn that the user stopped it (never shown). Shielded: the request
        is being cancelled."""
        note = SDKHiddenContextItem(
            id=self.store.generate_item_id("sdk_hidden_context", thread, context),
            thread_id=thread.id,
            created_at=datetime.now(UTC),
            content=CANCELLED_NOTE,
        )
        await shielded(self.store.add_thread_item(thread.id, note, context))

    def _to_thread_response(self, thread: ThreadMetadata | Thread) -> Thread:
        # The SDK streams `thread.created` from its own object stamped with a naive
        # datetime.now(): every thread it sends has an aware time, as reloads do.
        response = super()._to_thread_response(thread)
        items.make_aware(response)
        return response

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


def locale_hint(locale: str) -> str:
    return f"The user's locale is {locale}: answer in its language unless they ask otherwise."
