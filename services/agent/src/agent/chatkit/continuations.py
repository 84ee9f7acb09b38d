"""Turns that go on without a new user message: after a client tool's output
(client_tools.py) and after structured input's answers (`threads.add_structured_input`).

The reply still answers the thread's last user message (its options, its place in the
history), but it is started by a continuation StartReply anchored on the row the turn goes
on from: charged to the user's turn budget like any turn, once per anchor (a repeat is a
Conflict, never a second model call).
"""

from __future__ import annotations

from chatkit.types import InferenceOptions, ThreadMetadata, UserMessageItem

from agent.chatkit.context import ChatContext
from agent.chatkit.store import ConversationsStore
from agent.turn_events import StartedTurn

# How far back a continuation looks for its items and the user message it answers.
LOOK_BACK = 20


async def last_user_item(
    store: ConversationsStore, thread: ThreadMetadata, context: ChatContext
) -> UserMessageItem | None:
    page = await store.load_thread_items(thread.id, None, LOOK_BACK, "desc", context)
    return next((i for i in page.data if isinstance(i, UserMessageItem)), None)


async def go_on(
    store: ConversationsStore,
    thread: ThreadMetadata,
    user: UserMessageItem,
    anchor_item_id: str,
    context: ChatContext,
) -> UserMessageItem:
    """Starts the reply anchored on `anchor_item_id` (RateLimited, Conflict: none started)
    and returns the user message it answers, the reply ready in `context.replies`."""
    user_message = await store.get_message(thread.id, user.id, context)
    reply, history = await store.start_reply(thread.id, anchor_item_id, context, continuation=True)
    context.replies[user.id] = StartedTurn(user_message, reply, replayed=False, history=history)
    # The reply continues the turn: a forced tool choice was for its first model call.
    options = (user.inference_options or InferenceOptions()).model_copy(
        update={"tool_choice": None}
    )
    return user.model_copy(update={"inference_options": options})


async def answered_input(
    store: ConversationsStore, thread: ThreadMetadata, item_id: str, context: ChatContext
) -> UserMessageItem | None:
    """After structured input's answers (stored on item `item_id`): the reply that reads them
    (history.py shows the model the questions and answers). None: no user message to go on
    from."""
    user = await last_user_item(store, thread, context)
    return None if user is None else await go_on(store, thread, user, item_id, context)
