"""In process: an item the server checks before the SDK runs (a retried user message, an
action's sender widget) is read from conversations once per request: the SDK's own load of
it right after reuses the checked one."""

from __future__ import annotations

import uuid
from collections import Counter

from chat.conversations.v1 import conversations_pb2 as pb

from services.agent.tests.fake_model import ScriptedModel, says
from services.agent.tests.test_chatkit_actions import to_fahrenheit, weather_chatkit
from services.agent.tests.test_chatkit_retry_refused import retry_of
from services.agent.tests.test_chatkit_server import ChatKit, done_items


def spy_on_get_message(chatkit: ChatKit) -> Counter[str]:
    """How often each message is read with GetMessage from now on."""
    reads: Counter[str] = Counter()
    get_message = chatkit.store.get_message

    async def counted(user_id: uuid.UUID, conversation_id: str, message_id: str) -> pb.Message:
        reads[message_id] += 1
        return await get_message(user_id, conversation_id, message_id)

    chatkit.store.get_message = counted  # type: ignore[method-assign]
    return reads


async def test_a_retry_reads_the_retried_message_once() -> None:
    alice, chatkit = uuid.uuid4(), ChatKit(ScriptedModel(says("first"), says("again")))
    thread_id = await chatkit.new_thread(alice, "hello")
    user = next(m for m in chatkit.store.in_conversation(thread_id) if m.role == "user")
    reads = spy_on_get_message(chatkit)

    events = await chatkit.events(alice, retry_of(thread_id, user.id))

    assert len(done_items(events)) == 1
    assert reads[user.id] == 1


async def test_an_action_reads_its_sender_once_before_its_handler_runs() -> None:
    alice, chatkit = uuid.uuid4(), weather_chatkit()
    card = await chatkit.card(alice)
    reads = spy_on_get_message(chatkit)

    await chatkit.events(alice, to_fahrenheit(card))

    # One read checks the sender (and is the SDK's too); the handler's replace reads it again.
    assert reads[card.id] == 2
